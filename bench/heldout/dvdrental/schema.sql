-- Held-out evaluation schema "dvdrental": a pagila-like DVD rental store, written by hand for helper F3's
-- held-out evaluation (not pagila's data). English names, schema public, no comments (like pagila).
-- Deterministic data (arithmetic only). payment is partitioned by month; its FKs are on the partitions only.

CREATE TYPE public.mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');

CREATE TABLE public.country (
    country_id serial PRIMARY KEY,
    country text NOT NULL,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.city (
    city_id serial PRIMARY KEY,
    city text NOT NULL,
    country_id integer NOT NULL REFERENCES public.country (country_id),
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.address (
    address_id serial PRIMARY KEY,
    address text NOT NULL,
    address2 text,
    district text NOT NULL,
    city_id integer NOT NULL REFERENCES public.city (city_id),
    postal_code text,
    phone text NOT NULL,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.language (
    language_id serial PRIMARY KEY,
    name character(20) NOT NULL,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.category (
    category_id serial PRIMARY KEY,
    name text NOT NULL,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.actor (
    actor_id serial PRIMARY KEY,
    first_name text NOT NULL,
    last_name text NOT NULL,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.film (
    film_id serial PRIMARY KEY,
    title text NOT NULL,
    description text,
    release_year integer CHECK (release_year BETWEEN 1901 AND 2155),
    language_id integer NOT NULL REFERENCES public.language (language_id),
    original_language_id integer REFERENCES public.language (language_id),
    rental_duration smallint NOT NULL DEFAULT 3,
    rental_rate numeric(4, 2) NOT NULL DEFAULT 4.99,
    length smallint,
    replacement_cost numeric(5, 2) NOT NULL DEFAULT 19.99,
    rating public.mpaa_rating DEFAULT 'G',
    special_features text[],
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.film_actor (
    actor_id integer NOT NULL REFERENCES public.actor (actor_id),
    film_id integer NOT NULL REFERENCES public.film (film_id),
    last_update timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, film_id)
);
CREATE TABLE public.film_category (
    film_id integer NOT NULL REFERENCES public.film (film_id),
    category_id integer NOT NULL REFERENCES public.category (category_id),
    last_update timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (film_id, category_id)
);
CREATE TABLE public.store (
    store_id serial PRIMARY KEY,
    manager_staff_id integer NOT NULL,
    address_id integer NOT NULL REFERENCES public.address (address_id),
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.staff (
    staff_id serial PRIMARY KEY,
    first_name text NOT NULL,
    last_name text NOT NULL,
    address_id integer NOT NULL REFERENCES public.address (address_id),
    email text,
    store_id integer NOT NULL REFERENCES public.store (store_id),
    active boolean NOT NULL DEFAULT true,
    username text NOT NULL,
    password text,
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.customer (
    customer_id serial PRIMARY KEY,
    store_id integer NOT NULL REFERENCES public.store (store_id),
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text,
    address_id integer NOT NULL REFERENCES public.address (address_id),
    activebool boolean NOT NULL DEFAULT true,
    create_date date NOT NULL DEFAULT current_date,
    last_update timestamptz DEFAULT now(),
    active integer
);
CREATE TABLE public.inventory (
    inventory_id serial PRIMARY KEY,
    film_id integer NOT NULL REFERENCES public.film (film_id),
    store_id integer NOT NULL REFERENCES public.store (store_id),
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.rental (
    rental_id serial PRIMARY KEY,
    rental_date timestamptz NOT NULL,
    inventory_id integer NOT NULL REFERENCES public.inventory (inventory_id),
    customer_id integer NOT NULL REFERENCES public.customer (customer_id),
    return_date timestamptz,
    staff_id integer NOT NULL REFERENCES public.staff (staff_id),
    last_update timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.payment (
    payment_id serial NOT NULL,
    customer_id integer NOT NULL,
    staff_id integer NOT NULL,
    rental_id integer NOT NULL,
    amount numeric(5, 2) NOT NULL,
    payment_date timestamptz NOT NULL,
    PRIMARY KEY (payment_date, payment_id)
) PARTITION BY RANGE (payment_date);

DO $$
DECLARE m date;
BEGIN
  FOR m IN SELECT generate_series(date '2005-05-01', date '2006-02-01', interval '1 month')::date LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.payment FOR VALUES FROM (%L) TO (%L)',
                   'payment_p' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
    EXECUTE format('ALTER TABLE public.%I ADD FOREIGN KEY (customer_id) REFERENCES public.customer (customer_id)',
                   'payment_p' || to_char(m, 'YYYY_MM'));
    EXECUTE format('ALTER TABLE public.%I ADD FOREIGN KEY (staff_id) REFERENCES public.staff (staff_id)',
                   'payment_p' || to_char(m, 'YYYY_MM'));
    EXECUTE format('ALTER TABLE public.%I ADD FOREIGN KEY (rental_id) REFERENCES public.rental (rental_id)',
                   'payment_p' || to_char(m, 'YYYY_MM'));
  END LOOP;
END $$;

-- ---------------------------------------------------------------- data
INSERT INTO public.country (country_id, country) VALUES
 (1, 'Brazil'), (2, 'Canada'), (3, 'France'), (4, 'Germany'), (5, 'India'),
 (6, 'Japan'), (7, 'Mexico'), (8, 'Spain'), (9, 'United Kingdom'), (10, 'United States');
INSERT INTO public.city (city_id, city, country_id) VALUES
 (1, 'Sao Paulo', 1), (2, 'Curitiba', 1), (3, 'Recife', 1), (4, 'Toronto', 2), (5, 'Calgary', 2),
 (6, 'Lyon', 3), (7, 'Nantes', 3), (8, 'Hamburg', 4), (9, 'Leipzig', 4), (10, 'Pune', 5),
 (11, 'Jaipur', 5), (12, 'Chennai', 5), (13, 'Osaka', 6), (14, 'Sendai', 6), (15, 'Puebla', 7),
 (16, 'Merida', 7), (17, 'Sevilla', 8), (18, 'Bilbao', 8), (19, 'Leeds', 9), (20, 'Bristol', 9),
 (21, 'Austin', 10), (22, 'Denver', 10), (23, 'Tulsa', 10), (24, 'Boise', 10), (25, 'Fresno', 10),
 (26, 'Kobe', 6), (27, 'Porto Alegre', 1), (28, 'Dresden', 4), (29, 'Valencia', 8), (30, 'Omaha', 10);
INSERT INTO public.address (address_id, address, district, city_id, postal_code, phone)
SELECT i, (100 + (i * 37) % 900)::text || ' ' || (ARRAY['Oak', 'Maple', 'Cedar', 'Elm', 'Pine', 'Birch', 'Willow', 'Ash'])[1 + i % 8]
          || ' ' || (ARRAY['Street', 'Avenue', 'Road', 'Lane'])[1 + (i / 8) % 4],
       (ARRAY['Central', 'North', 'South', 'East', 'West', 'Harbor'])[1 + i % 6],
       1 + (i * 11) % 30, lpad(((i * 7919) % 99999)::text, 5, '0'), '55' || lpad(((i * 104729) % 100000000)::text, 8, '0')
FROM generate_series(1, 304) AS i;
SELECT setval('public.address_address_id_seq', 304);
INSERT INTO public.language (language_id, name) VALUES
 (1, 'English'), (2, 'Italian'), (3, 'Japanese'), (4, 'Mandarin'), (5, 'French'), (6, 'German');
INSERT INTO public.category (category_id, name) VALUES
 (1, 'Action'), (2, 'Animation'), (3, 'Children'), (4, 'Classics'), (5, 'Comedy'), (6, 'Documentary'),
 (7, 'Drama'), (8, 'Family'), (9, 'Foreign'), (10, 'Games'), (11, 'Horror'), (12, 'Music'), (13, 'New'),
 (14, 'Sci-Fi'), (15, 'Sports'), (16, 'Travel');
INSERT INTO public.actor (actor_id, first_name, last_name)
SELECT i + 1,
       (ARRAY['PENELOPE', 'NICK', 'ED', 'JENNIFER', 'JOHNNY', 'BETTE', 'GRACE', 'MATTHEW', 'JOE', 'CHRISTIAN',
              'ZERO', 'KARL', 'UMA', 'VIVIEN', 'CUBA', 'FRED', 'HELEN', 'DAN', 'BOB', 'LUCILLE'])[1 + i % 20],
       (ARRAY['GUINESS', 'WAHLBERG', 'CHASE', 'DAVIS', 'LOLLOBRIGIDA', 'NICHOLSON', 'MOSTEL', 'JOHANSSON', 'SWANK',
              'GABLE', 'CAGE', 'BERRY', 'WOOD', 'BERGEN', 'OLIVIER', 'COSTNER', 'VOIGHT', 'TORN', 'FAWCETT', 'TRACY',
              'PALTROW', 'MARX', 'KILMER', 'STREEP', 'BLOOM'])[1 + (i / 20 * 7 + i % 20) % 25]
FROM generate_series(0, 99) AS i;
SELECT setval('public.actor_actor_id_seq', 100);
INSERT INTO public.film (film_id, title, description, release_year, language_id, rental_duration, rental_rate,
                         length, replacement_cost, rating, special_features)
SELECT i + 1,
       (ARRAY['ACADEMY', 'ACE', 'ADAPTATION', 'AFFAIR', 'AGENT', 'ALABAMA', 'ALADDIN', 'ALIEN', 'AMADEUS', 'AMERICAN',
              'ANGELS', 'ANNIE', 'APACHE', 'ARABIA', 'ARMAGEDDON', 'ARTIST', 'ATLANTIS', 'BABY', 'BACKLASH', 'BALLROOM'])[1 + i % 20]
       || ' ' ||
       (ARRAY['DINOSAUR', 'GOLDFINGER', 'HOLES', 'PREJUDICE', 'TRUMAN', 'APOLLO', 'CALENDAR', 'DAISY', 'EGG', 'FIDELITY',
              'GUMP', 'HEAVEN', 'IDENTITY', 'JUMANJI', 'KING', 'LEGEND', 'MOON', 'NIGHTMARE', 'ORANGE', 'PARTY'])[1 + (i / 20 * 3 + i % 20) % 20],
       'A ' || (ARRAY['Epic', 'Touching', 'Thoughtful', 'Boring', 'Fateful', 'Astounding'])[1 + i % 6] || ' story of a '
       || (ARRAY['Dog', 'Teacher', 'Robot', 'Pastry Chef', 'Mad Scientist'])[1 + (i * 3) % 5],
       2006, CASE WHEN i % 17 = 0 THEN 2 ELSE 1 END,
       3 + (i * 7) % 5,
       (ARRAY[0.99, 2.99, 4.99])[1 + (i * 11) % 3],
       46 + (i * 37) % 140,
       9.99 + (i * 13) % 21,
       (ARRAY['G', 'PG', 'PG-13', 'R', 'NC-17'])[1 + (i * 7 + i / 9) % 5]::public.mpaa_rating,
       CASE i % 4 WHEN 0 THEN ARRAY['Trailers', 'Deleted Scenes'] WHEN 1 THEN ARRAY['Commentaries', 'Trailers']
                  WHEN 2 THEN ARRAY['Behind the Scenes', 'Commentaries'] ELSE ARRAY['Deleted Scenes', 'Behind the Scenes'] END
FROM generate_series(0, 199) AS i;
SELECT setval('public.film_film_id_seq', 200);
INSERT INTO public.film_actor (actor_id, film_id)
SELECT 1 + (f * 7 + k * 13) % 100, f FROM generate_series(1, 200) AS f, generate_series(0, 6) AS k WHERE k < 2 + f % 5;
INSERT INTO public.film_category (film_id, category_id) SELECT f, 1 + (f * 3 + f / 16) % 16 FROM generate_series(1, 200) AS f;
-- stores and staff (circular reference: store.manager_staff_id -> staff added after)
INSERT INTO public.store (store_id, manager_staff_id, address_id) VALUES (1, 1, 1), (2, 3, 2);
SELECT setval('public.store_store_id_seq', 2);
INSERT INTO public.staff (staff_id, first_name, last_name, address_id, email, store_id, active, username) VALUES
 (1, 'Mike', 'Hillyer', 3, 'mike.hillyer@dvdrental.example', 1, true, 'mike'),
 (2, 'Tania', 'Reyes', 3, 'tania.reyes@dvdrental.example', 1, true, 'tania'),
 (3, 'Jon', 'Stephens', 4, 'jon.stephens@dvdrental.example', 2, true, 'jon'),
 (4, 'Priya', 'Nair', 4, 'priya.nair@dvdrental.example', 2, false, 'priya');
SELECT setval('public.staff_staff_id_seq', 4);
ALTER TABLE public.store ADD FOREIGN KEY (manager_staff_id) REFERENCES public.staff (staff_id);
INSERT INTO public.customer (customer_id, store_id, first_name, last_name, email, address_id, activebool, create_date, active)
SELECT i + 1, 1 + i % 2,
       (ARRAY['MARY', 'PATRICIA', 'LINDA', 'BARBARA', 'ELIZABETH', 'JENNIFER', 'MARIA', 'SUSAN', 'MARGARET', 'DOROTHY',
              'LISA', 'NANCY', 'KAREN', 'BETTY', 'HELEN', 'SANDRA', 'DONNA', 'CAROL', 'RUTH', 'SHARON',
              'JAMES', 'JOHN', 'ROBERT', 'MICHAEL', 'WILLIAM', 'DAVID', 'RICHARD', 'CHARLES', 'JOSEPH', 'THOMAS'])[1 + i % 30],
       (ARRAY['SMITH', 'JOHNSON', 'WILLIAMS', 'JONES', 'BROWN', 'DAVIS', 'MILLER', 'WILSON', 'MOORE', 'TAYLOR',
              'ANDERSON', 'THOMAS', 'JACKSON', 'WHITE', 'HARRIS', 'MARTIN', 'THOMPSON', 'GARCIA', 'MARTINEZ', 'ROBINSON',
              'CLARK', 'RODRIGUEZ', 'LEWIS', 'LEE', 'WALKER', 'HALL', 'ALLEN', 'YOUNG', 'HERNANDEZ', 'KING',
              'WRIGHT', 'LOPEZ', 'HILL', 'SCOTT', 'GREEN', 'ADAMS', 'BAKER', 'GONZALEZ', 'NELSON', 'CARTER'])[1 + (i / 30 * 7 + i % 30) % 40],
       NULL, i + 5, (i + 1) % 23 <> 0, date '2004-03-01' + (i * 2), CASE WHEN (i + 1) % 23 = 0 THEN 0 ELSE 1 END
FROM generate_series(0, 299) AS i;
UPDATE public.customer SET email = lower(first_name || '.' || last_name) || '@sakilacustomer.example';
SELECT setval('public.customer_customer_id_seq', 300);
-- inventory: films 1..190 have 1..7 copies; 191..200 none
INSERT INTO public.inventory (film_id, store_id)
SELECT f, 1 + (f + c) % 2 FROM generate_series(1, 190) AS f, LATERAL generate_series(1, 1 + (f * 5) % 7) AS c ORDER BY f, c;
-- rentals: 4000 between 2005-05-24 and 2006-02-14; only copies of films 1..180 are ever rented;
-- customers 291..300 never rented
INSERT INTO public.rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id)
SELECT r,
       timestamptz '2005-05-24 09:00:00+00' + r * interval '5745 seconds',
       1 + (r * 37 + r / 11) % (SELECT count(*) FROM public.inventory WHERE film_id <= 180),
       1 + (r * 53 + r / 13) % 290,
       CASE WHEN r % 53 = 0 OR r > 3960 THEN NULL
            ELSE timestamptz '2005-05-24 09:00:00+00' + r * interval '5745 seconds' + ((r * 7) % 9 + 1) * interval '1 day'
                 + (r % 5) * interval '1 hour' END,
       1 + r % 4
FROM generate_series(1, 4000) AS r;
SELECT setval('public.rental_rental_id_seq', 4000);
INSERT INTO public.payment (customer_id, staff_id, rental_id, amount, payment_date)
SELECT r.customer_id, r.staff_id, r.rental_id,
       f.rental_rate + CASE WHEN r.rental_id % 5 = 0 THEN (r.rental_id % 4) + 1 ELSE 0 END,
       r.rental_date + interval '2 hours' + (r.rental_id % 60) * interval '1 minute'
FROM public.rental r JOIN public.inventory i ON i.inventory_id = r.inventory_id JOIN public.film f ON f.film_id = i.film_id
WHERE r.rental_id % 41 <> 0
ORDER BY r.rental_id;

-- views (as in pagila)
CREATE VIEW public.customer_list AS
SELECT cu.customer_id AS id, cu.first_name || ' ' || cu.last_name AS name, a.address, a.postal_code AS "zip code",
       a.phone, ci.city, co.country, CASE WHEN cu.activebool THEN 'active' ELSE '' END AS notes, cu.store_id AS sid
FROM public.customer cu JOIN public.address a ON cu.address_id = a.address_id
JOIN public.city ci ON a.city_id = ci.city_id JOIN public.country co ON ci.country_id = co.country_id;
CREATE VIEW public.sales_by_film_category AS
SELECT c.name AS category, sum(p.amount) AS total_sales
FROM public.payment p JOIN public.rental r ON p.rental_id = r.rental_id
JOIN public.inventory i ON r.inventory_id = i.inventory_id JOIN public.film f ON i.film_id = f.film_id
JOIN public.film_category fc ON f.film_id = fc.film_id JOIN public.category c ON fc.category_id = c.category_id
GROUP BY c.name ORDER BY total_sales DESC;
