-- Held-out evaluation schema "airline": a South-American airline with a São Paulo (GRU) hub, English names,
-- schema public. Deterministic data (generate_series + arithmetic, no random()), flights 2021-01-01 .. 2024-12-31
-- (data snapshot taken at 2024-12-20 12:00: later flights are still 'scheduled').
-- Features: ENUM types (flight_status, cabin_class), nullable timestamps (flights.actual_departure,
-- actual_arrival, cancelled_at), a table range-partitioned by month (tickets, FKs declared on the parent),
-- measures (tickets.fare_amount, bookings.total_amount, baggage.fee, aircraft seat counts), an unpopulated
-- materialized view (route_monthly_stats WITH NO DATA), two FKs to the same table
-- (flights.origin_airport_id / destination_airport_id -> airports), a link table (flight_crew),
-- a boolean flag (crew_members.is_active). Table comments on some tables only.

CREATE TYPE public.flight_status AS ENUM ('scheduled', 'boarding', 'departed', 'arrived', 'delayed', 'cancelled', 'diverted');
CREATE TYPE public.cabin_class AS ENUM ('economy', 'premium_economy', 'business', 'first');

CREATE TABLE public.airports (
    airport_id integer PRIMARY KEY,
    iata_code char(3) NOT NULL UNIQUE,
    name varchar(80) NOT NULL,
    city varchar(60) NOT NULL,
    country char(2) NOT NULL,
    timezone varchar(40) NOT NULL
);

CREATE TABLE public.aircraft (
    aircraft_id integer PRIMARY KEY,
    tail_number varchar(8) NOT NULL UNIQUE,
    model varchar(40) NOT NULL,
    manufacturer varchar(20) NOT NULL,
    seats_economy smallint NOT NULL,
    seats_premium smallint NOT NULL DEFAULT 0,
    seats_business smallint NOT NULL DEFAULT 0,
    seats_first smallint NOT NULL DEFAULT 0,
    range_km integer NOT NULL,
    in_service_since date NOT NULL
);
COMMENT ON TABLE public.aircraft IS 'Fleet; seat configuration per cabin';

CREATE TABLE public.flights (
    flight_id integer PRIMARY KEY,
    flight_number varchar(7) NOT NULL,
    origin_airport_id integer NOT NULL REFERENCES public.airports (airport_id),
    destination_airport_id integer NOT NULL REFERENCES public.airports (airport_id),
    aircraft_id integer NOT NULL REFERENCES public.aircraft (aircraft_id),
    scheduled_departure timestamp NOT NULL,
    scheduled_arrival timestamp NOT NULL,
    actual_departure timestamp,
    actual_arrival timestamp,
    status public.flight_status NOT NULL DEFAULT 'scheduled',
    cancelled_at timestamp,
    distance_km integer NOT NULL,
    CHECK (origin_airport_id <> destination_airport_id)
);
COMMENT ON TABLE public.flights IS 'One row per flight leg; actual_* stay NULL until the flight operates, cancelled_at is set when it is cancelled';

CREATE TABLE public.passengers (
    passenger_id integer PRIMARY KEY,
    first_name varchar(40) NOT NULL,
    last_name varchar(40) NOT NULL,
    email varchar(120) NOT NULL UNIQUE,
    birth_date date NOT NULL,
    nationality char(2) NOT NULL,
    passport_number varchar(12),
    created_at timestamp NOT NULL
);

CREATE TABLE public.loyalty_accounts (
    account_id integer PRIMARY KEY,
    passenger_id integer NOT NULL UNIQUE REFERENCES public.passengers (passenger_id),
    member_number varchar(12) NOT NULL UNIQUE,
    tier varchar(10) NOT NULL CHECK (tier IN ('blue', 'silver', 'gold', 'platinum')),
    points_balance integer NOT NULL DEFAULT 0,
    enrolled_on date NOT NULL
);

CREATE TABLE public.bookings (
    booking_id integer PRIMARY KEY,
    booking_ref char(6) NOT NULL UNIQUE,
    passenger_id integer NOT NULL REFERENCES public.passengers (passenger_id),
    booked_at timestamp NOT NULL,
    channel varchar(14) NOT NULL CHECK (channel IN ('website', 'mobile_app', 'travel_agency', 'call_center')),
    currency char(3) NOT NULL DEFAULT 'USD',
    total_amount numeric(10, 2) NOT NULL
);
COMMENT ON TABLE public.bookings IS 'Reservation (PNR) for one passenger; its tickets hold one coupon per flight';

CREATE TABLE public.tickets (
    ticket_id bigint NOT NULL,
    ticket_number varchar(13) NOT NULL,
    booking_id integer NOT NULL REFERENCES public.bookings (booking_id),
    flight_id integer NOT NULL REFERENCES public.flights (flight_id),
    cabin_class public.cabin_class NOT NULL,
    seat_number varchar(4),
    fare_amount numeric(10, 2) NOT NULL CHECK (fare_amount >= 0),
    issued_at timestamp NOT NULL,
    PRIMARY KEY (ticket_id, issued_at)
) PARTITION BY RANGE (issued_at);
COMMENT ON TABLE public.tickets IS 'Issued tickets, partitioned by month of issue';

DO $$
DECLARE m date;
BEGIN
  FOR m IN SELECT generate_series(date '2020-12-01', date '2024-12-01', interval '1 month')::date LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.tickets FOR VALUES FROM (%L) TO (%L)',
                   'tickets_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
  END LOOP;
END $$;

CREATE TABLE public.baggage (
    bag_id integer PRIMARY KEY,
    tag_number varchar(10) NOT NULL UNIQUE,
    booking_id integer NOT NULL REFERENCES public.bookings (booking_id),
    flight_id integer NOT NULL REFERENCES public.flights (flight_id),
    weight_kg numeric(4, 1) NOT NULL,
    fee numeric(7, 2) NOT NULL DEFAULT 0,
    checked_at timestamp NOT NULL,
    status varchar(10) NOT NULL CHECK (status IN ('checked', 'loaded', 'delivered', 'delayed', 'lost'))
);

CREATE TABLE public.crew_members (
    crew_id integer PRIMARY KEY,
    employee_number varchar(8) NOT NULL UNIQUE,
    first_name varchar(40) NOT NULL,
    last_name varchar(40) NOT NULL,
    role varchar(16) NOT NULL CHECK (role IN ('captain', 'first_officer', 'flight_attendant')),
    base_airport_id integer NOT NULL REFERENCES public.airports (airport_id),
    hired_on date NOT NULL,
    is_active boolean NOT NULL DEFAULT true
);

CREATE TABLE public.flight_crew (
    flight_id integer NOT NULL REFERENCES public.flights (flight_id),
    crew_id integer NOT NULL REFERENCES public.crew_members (crew_id),
    duty varchar(20) NOT NULL CHECK (duty IN ('pilot_in_command', 'second_in_command', 'cabin')),
    PRIMARY KEY (flight_id, crew_id)
);
COMMENT ON TABLE public.flight_crew IS 'Crew roster: who worked on each flight';

-- ---------------------------------------------------------------- data
INSERT INTO public.airports VALUES
 (1, 'GRU', 'São Paulo/Guarulhos International', 'São Paulo', 'BR', 'America/Sao_Paulo'),
 (2, 'GIG', 'Rio de Janeiro/Galeão International', 'Rio de Janeiro', 'BR', 'America/Sao_Paulo'),
 (3, 'BSB', 'Brasília International', 'Brasília', 'BR', 'America/Sao_Paulo'),
 (4, 'LIS', 'Humberto Delgado Airport', 'Lisbon', 'PT', 'Europe/Lisbon'),
 (5, 'MAD', 'Adolfo Suárez Madrid-Barajas', 'Madrid', 'ES', 'Europe/Madrid'),
 (6, 'JFK', 'John F. Kennedy International', 'New York', 'US', 'America/New_York'),
 (7, 'MIA', 'Miami International', 'Miami', 'US', 'America/New_York'),
 (8, 'EZE', 'Ministro Pistarini International', 'Buenos Aires', 'AR', 'America/Argentina/Buenos_Aires'),
 (9, 'SCL', 'Arturo Merino Benítez International', 'Santiago', 'CL', 'America/Santiago'),
 (10, 'BOG', 'El Dorado International', 'Bogotá', 'CO', 'America/Bogota'),
 (11, 'LHR', 'London Heathrow', 'London', 'GB', 'Europe/London'),
 (12, 'CDG', 'Paris Charles de Gaulle', 'Paris', 'FR', 'Europe/Paris'),
 (13, 'FLN', 'Florianópolis-Hercílio Luz International', 'Florianópolis', 'BR', 'America/Sao_Paulo'),
 (14, 'MVD', 'Carrasco International', 'Montevideo', 'UY', 'America/Montevideo');

INSERT INTO public.aircraft VALUES
 (1, 'PR-XBA', 'A320neo', 'Airbus', 150, 0, 24, 0, 6300, '2016-05-12'),
 (2, 'PR-XBB', 'A320neo', 'Airbus', 150, 0, 24, 0, 6300, '2017-02-03'),
 (3, 'PR-XBC', 'A321neo', 'Airbus', 184, 0, 30, 0, 7400, '2018-11-20'),
 (4, 'PR-XBD', 'A321neo', 'Airbus', 184, 0, 30, 0, 7400, '2019-08-14'),
 (5, 'PR-XBE', '737 MAX 8', 'Boeing', 162, 0, 24, 0, 6500, '2020-01-22'),
 (6, 'PR-XBF', 'E195-E2', 'Embraer', 124, 0, 12, 0, 4800, '2021-03-30'),
 (7, 'PR-XWA', '787-9', 'Boeing', 222, 40, 30, 0, 14000, '2015-07-01'),
 (8, 'PR-XWB', '787-9', 'Boeing', 222, 40, 30, 0, 14000, '2016-09-15'),
 (9, 'PR-XWC', 'A350-900', 'Airbus', 245, 36, 36, 8, 15000, '2018-04-10'),
 (10, 'PR-XWD', 'A350-900', 'Airbus', 245, 36, 36, 8, 15000, '2019-12-05'),
 (11, 'PR-XWE', '777-300ER', 'Boeing', 290, 40, 42, 8, 13600, '2012-06-18'),
 (12, 'PR-XWF', 'A350-1000', 'Airbus', 270, 40, 44, 8, 16000, '2024-12-02');

-- one city pair per day, out in the morning (slot 0) and back in the afternoon (slot 1);
-- pairs are drawn from a fixed, uneven rotation so routes have different frequencies
CREATE TEMP TABLE city_pairs (pair integer, a integer, b integer, dist integer, long_haul boolean, fno integer);
INSERT INTO city_pairs VALUES
 (1, 1, 2, 360, false, 3000), (2, 1, 3, 870, false, 3100), (3, 1, 4, 7930, true, 8000),
 (4, 1, 7, 6550, true, 8100), (5, 1, 8, 1680, false, 3200), (6, 2, 4, 7700, true, 8200),
 (7, 1, 9, 2590, false, 3300), (8, 1, 6, 7690, true, 8300), (9, 1, 5, 8370, true, 8400),
 (10, 1, 10, 4330, false, 3400), (11, 2, 11, 9250, true, 8500), (12, 1, 12, 9400, true, 8600);

INSERT INTO public.flights
SELECT n,
       'XB' || (p.fno + 2 * (d % 50) + s),
       CASE WHEN s = 0 THEN p.a ELSE p.b END,
       CASE WHEN s = 0 THEN p.b ELSE p.a END,
       CASE WHEN p.long_haul THEN (ARRAY[7, 8, 7, 9, 10, 7, 8, 11, 9, 7, 8])[1 + d % 11]
            ELSE (ARRAY[1, 2, 3, 1, 4, 5, 1, 2, 6, 3, 1, 2, 4])[1 + d % 13] END,
       sd, sd + dur,
       CASE WHEN sd > ts_snap OR n % 37 = 0 THEN NULL ELSE sd + delay END,
       CASE WHEN sd + dur + delay > ts_snap OR n % 37 = 0 OR n % 101 = 0 THEN NULL ELSE sd + dur + delay END,
       CASE WHEN sd > ts_snap THEN 'scheduled'
            WHEN n % 37 = 0 THEN 'cancelled'
            WHEN sd + dur + delay > ts_snap THEN 'departed'
            WHEN n % 101 = 0 THEN 'diverted'
            ELSE 'arrived' END::public.flight_status,
       CASE WHEN n % 37 = 0 AND sd <= ts_snap THEN sd - make_interval(hours => 2 + n % 30) END,
       p.dist
FROM generate_series(1, 2922) AS n
CROSS JOIN LATERAL (SELECT (n - 1) / 2 AS d, (n - 1) % 2 AS s, timestamp '2024-12-20 12:00' AS ts_snap) k
JOIN city_pairs p ON p.pair = (ARRAY[1, 2, 1, 5, 3, 2, 1, 4, 6, 2, 1, 7, 8, 1, 2, 5, 9, 1, 3, 10, 2, 1, 11, 4, 1, 12, 2, 5, 7])[1 + k.d % 29]
CROSS JOIN LATERAL (
    SELECT date '2021-01-01' + k.d
             + CASE WHEN k.s = 0 THEN time '07:00' ELSE time '16:30' END
             + make_interval(mins => 5 * ((k.d * 7) % 12)) AS sd,
           make_interval(mins => 40 + p.dist * 60 / 820) AS dur,
           make_interval(mins => CASE WHEN n % 23 = 0 THEN 125 + (n * 7) % 180
                                      WHEN n % 6 = 0 THEN 15 + (n * 11) % 50
                                      WHEN n % 4 = 1 THEN -3
                                      ELSE n % 9 END) AS delay
) t;

INSERT INTO public.passengers
SELECT n,
       (ARRAY['Lucas','Sofia','Mateo','Valentina','Gabriel','Isabella','Martín','Camila','Thomas','Emma',
              'Pedro','Julia','Diego','Laura','Daniel','Alice','Santiago','Helena','Oliver','Beatriz',
              'Joaquín','Lucía','Rafael','Manuela','Tomás','Carolina','Henry','Olivia','Nicolás','Clara',
              'Bruno','Mia','Felipe','Antonella','Samuel','Charlotte','André','Renata','Leo','Paula'])[1 + (n - 1) % 40],
       (ARRAY['Silva','Gómez','Smith','Santos','Fernández','Oliveira','Rodríguez','Johnson','Pereira','López',
              'Costa','Martínez','Brown','Almeida','García','Ribeiro','Díaz','Williams','Carvalho','Torres',
              'Sánchez','Taylor','Moreira','Rojas','Castro','Dupont','Müller'])[1 + (n * 7) % 27],
       'pax' || n || '@' || (ARRAY['gmail.com', 'hotmail.com', 'outlook.com', 'yahoo.com', 'uol.com.br'])[1 + n % 5],
       date '1950-01-01' + (n * 4937) % 20000,
       (ARRAY['BR', 'BR', 'BR', 'AR', 'CL', 'US', 'PT', 'ES', 'CO', 'BR', 'GB', 'FR', 'BR'])[1 + (n * 3) % 13],
       CASE WHEN n % 8 = 0 THEN NULL ELSE upper(substr(md5('pp' || n), 1, 2)) || lpad(((n * 104729) % 1000000)::text, 6, '0') END,
       timestamp '2019-06-01 09:00' + make_interval(hours => n * 29)
FROM generate_series(1, 700) AS n;

INSERT INTO public.loyalty_accounts
SELECT row_number() OVER (ORDER BY n), n,
       'XB' || lpad((n * 7703)::text, 9, '0'),
       CASE WHEN n % 17 = 0 THEN 'platinum' WHEN n % 7 = 0 THEN 'gold' WHEN n % 4 = 0 THEN 'silver' ELSE 'blue' END,
       (n * 1931) % 90000 + CASE WHEN n % 17 = 0 THEN 150000 WHEN n % 7 = 0 THEN 60000 ELSE 0 END,
       date '2019-06-10' + (n * 29) / 24 + n % 40
FROM generate_series(1, 700) AS n
WHERE n % 3 <> 0;

-- seats sold per flight: 1..4 passengers (sample of the real load); cancelled flights have no tickets
-- (passengers were re-accommodated). Each booking = one passenger; some short-haul bookings are same-day
-- round trips with a second ticket on the return leg.
CREATE TEMP TABLE seat_sales AS
SELECT (row_number() OVER (ORDER BY f.flight_id, k))::int AS t, f.flight_id, k, f.scheduled_departure, f.distance_km,
       f.distance_km > 5000 AS long_haul
FROM public.flights f
CROSS JOIN LATERAL generate_series(1, 1 + (f.flight_id * 7) % 3 + CASE WHEN f.flight_id % 5 = 0 THEN 1 ELSE 0 END) AS k
WHERE f.status <> 'cancelled';

CREATE TEMP TABLE sale AS
SELECT s.*,
       least(greatest(s.scheduled_departure - make_interval(days => 1 + (s.t * 13) % 60, hours => (s.t * 5) % 24),
                      timestamp '2020-12-01 08:00'),
             timestamp '2024-12-20 11:00' - make_interval(hours => (s.t * 7) % 96, mins => s.t % 60)) AS booked_at,
       CASE WHEN s.long_haul THEN
                 CASE WHEN s.t % 9 = 0 THEN 'first' WHEN s.t % 4 = 0 THEN 'business'
                      WHEN s.t % 5 = 0 THEN 'premium_economy' ELSE 'economy' END
            ELSE CASE WHEN s.t % 6 = 0 THEN 'business' ELSE 'economy' END END::public.cabin_class AS cabin
FROM seat_sales s;

INSERT INTO public.bookings
SELECT s.t,
       upper(substr(md5('pnr' || s.t), 1, 6)),
       CASE WHEN s.booked_at < timestamp '2023-01-01' AND s.t % 5 = 0 THEN 601 + s.t % 50
            ELSE 1 + (s.t * 37) % 600 END,
       s.booked_at,
       (ARRAY['website', 'mobile_app', 'website', 'travel_agency', 'mobile_app', 'call_center', 'website'])[1 + (s.t * 3) % 7],
       'USD',
       0
FROM sale s;

INSERT INTO public.tickets
SELECT s.t,
       '957' || lpad((2100000000 + s.t * 7)::text, 10, '0'),
       s.t, s.flight_id, s.cabin,
       (CASE s.cabin WHEN 'first' THEN 1 + s.k WHEN 'business' THEN 3 + s.k * 2 WHEN 'premium_economy' THEN 12 + s.k ELSE 18 + (s.t * 7) % 20 END)::text
         || (ARRAY['A', 'B', 'C', 'D', 'E', 'F'])[1 + (s.t * 5) % 6],
       round(s.distance_km * 0.085 * CASE s.cabin WHEN 'first' THEN 6 WHEN 'business' THEN 3.5
                                                  WHEN 'premium_economy' THEN 1.6 ELSE 1 END
             + 45 + (s.t * 37) % 120 + ((s.t * 13) % 100) / 100.0, 2),
       s.booked_at
FROM sale s;

-- same-day return coupons (short-haul, outbound leg, first seat, every third flight)
INSERT INTO public.tickets
SELECT 100000 + s.t,
       '957' || lpad((2200000000 + s.t * 7)::text, 10, '0'),
       s.t, r.flight_id, s.cabin,
       (18 + (s.t * 3) % 20)::text || (ARRAY['A', 'B', 'C', 'D', 'E', 'F'])[1 + (s.t * 11) % 6],
       round(s.distance_km * 0.085 * CASE s.cabin WHEN 'business' THEN 3.5 ELSE 1 END + 45 + (s.t * 29) % 120, 2),
       s.booked_at
FROM sale s
JOIN public.flights o ON o.flight_id = s.flight_id
JOIN public.flights r ON r.flight_id = s.flight_id + 1 AND r.origin_airport_id = o.destination_airport_id
                     AND r.scheduled_departure::date = o.scheduled_departure::date AND r.status <> 'cancelled'
WHERE NOT s.long_haul AND s.k = 1 AND s.flight_id % 3 = 0 AND (s.flight_id - 1) % 2 = 0;

UPDATE public.bookings b SET total_amount = x.total
FROM (SELECT booking_id, sum(fare_amount) AS total FROM public.tickets GROUP BY booking_id) x
WHERE x.booking_id = b.booking_id;

-- checked bags for flights that have operated
INSERT INTO public.baggage
SELECT row_number() OVER (ORDER BY t.issued_at, t.ticket_id, g.k),
       'XB' || lpad((t.ticket_id * 10 + g.k)::text, 8, '0'),
       t.booking_id, t.flight_id, w.kg,
       CASE WHEN g.k = 2 THEN 90 ELSE 0 END + CASE WHEN w.kg > 23 THEN 120 ELSE 0 END,
       f.scheduled_departure - make_interval(mins => (60 + (t.ticket_id * 7) % 90)::int),
       CASE WHEN t.ticket_id % 211 = 0 THEN 'lost' WHEN t.ticket_id % 53 = 0 THEN 'delayed' ELSE 'delivered' END
FROM public.tickets t
JOIN public.flights f ON f.flight_id = t.flight_id AND f.status IN ('arrived', 'diverted')
CROSS JOIN LATERAL generate_series(1, CASE WHEN t.ticket_id % 10 = 0 THEN 2 ELSE 1 END) AS g(k)
CROSS JOIN LATERAL (
    SELECT CASE WHEN t.ticket_id % 47 = 0 THEN 32.5 + t.ticket_id % 5
                ELSE 7 + ((t.ticket_id * 7 + g.k * 3) % 24) + (t.ticket_id % 4) * 0.5 END AS kg
) w
WHERE t.ticket_id % 3 <> 0;

INSERT INTO public.crew_members
SELECT n,
       'C' || lpad((n * 131)::text, 6, '0'),
       (ARRAY['Ricardo','Fernanda','Marcos','Aline','Gustavo','Priscila','Leonardo','Tatiane','Rodrigo','Vanessa',
              'Alexandre','Juliana','Eduardo','Bianca','Roberto','Letícia','Sérgio','Débora','Cristiano','Luana'])[1 + (n - 1) % 20],
       (ARRAY['Azevedo','Barros','Campos','Duarte','Esteves','Freitas','Guimarães','Holanda','Ibáñez','Jardim',
              'Klein','Leal','Macedo','Novaes','Ortega','Prado','Queiroz','Rezende','Sampaio','Teixeira','Valente'])[1 + (n * 8) % 21],
       CASE WHEN n <= 14 OR n = 59 THEN 'captain' WHEN n <= 28 OR n = 60 THEN 'first_officer' ELSE 'flight_attendant' END,
       CASE WHEN n % 5 = 0 THEN 2 ELSE 1 END,
       CASE WHEN n >= 59 THEN date '2024-11-04' + (n - 59) * 9
            ELSE date '2004-03-01' + (n * 587) % 7200 END,
       n NOT IN (13, 27, 45)
FROM generate_series(1, 62) AS n;

-- 3 crew per operated or scheduled flight, picked by rotation among the crew of that role already hired
-- (inactive crew stopped flying mid-2023); the same crew flies both legs of the day.
-- Crew 59-62 (hired Nov/Dec 2024) have not been rostered yet.
INSERT INTO public.flight_crew
SELECT f.flight_id, c.crew_id, r.duty
FROM public.flights f
CROSS JOIN LATERAL (SELECT (f.flight_id - 1) / 2 AS d, f.scheduled_departure::date AS day) k
CROSS JOIN LATERAL (VALUES ('captain', 'pilot_in_command', 5), ('first_officer', 'second_in_command', 3),
                           ('flight_attendant', 'cabin', 7)) AS r(role, duty, step)
CROSS JOIN LATERAL (
    SELECT x.crew_id
    FROM (SELECT cm.crew_id, row_number() OVER (ORDER BY cm.crew_id) AS rn, count(*) OVER () AS cnt
          FROM public.crew_members cm
          WHERE cm.role = r.role AND cm.crew_id < 59 AND cm.hired_on <= k.day
            AND (cm.is_active OR k.day < date '2023-07-01')) x
    WHERE x.rn = 1 + (k.d * r.step) % x.cnt
) c
WHERE f.status <> 'cancelled';

-- reporting snapshot refreshed by the nightly ETL (not populated in this copy)
CREATE MATERIALIZED VIEW public.route_monthly_stats AS
SELECT o.iata_code AS origin, d.iata_code AS destination,
       date_trunc('month', f.scheduled_departure)::date AS month,
       count(DISTINCT f.flight_id) AS flights,
       count(t.ticket_id) AS passengers,
       sum(t.fare_amount) AS revenue
FROM public.flights f
JOIN public.airports o ON o.airport_id = f.origin_airport_id
JOIN public.airports d ON d.airport_id = f.destination_airport_id
LEFT JOIN public.tickets t ON t.flight_id = f.flight_id
GROUP BY o.iata_code, d.iata_code, date_trunc('month', f.scheduled_departure)::date
WITH NO DATA;

DROP TABLE seat_sales, sale, city_pairs;

ANALYZE;
