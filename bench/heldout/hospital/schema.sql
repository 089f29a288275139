-- Held-out evaluation schema "hospital": a general hospital with English names in schema public.
-- Deterministic data (generate_series + arithmetic, no random()), activity 2021-01-01 .. 2024-12-31.
-- Features: ENUM type (appointment_status), 0/1 smallint flags (doctors.is_active, medications.is_controlled),
-- nullable date (admissions.discharged_at), monthly range-partitioned table (appointments, foreign keys
-- declared on the partitioned parent), measure quantity * unit_price (prescriptions x medications),
-- an unpopulated materialized view (department_monthly_stats, WITH NO DATA), self FK (doctors.supervisor_id).

CREATE TYPE public.appointment_status AS ENUM ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show');

CREATE TABLE public.departments (
    department_id integer PRIMARY KEY,
    name varchar(60) NOT NULL UNIQUE,
    floor smallint NOT NULL,
    phone_extension varchar(6)
);
COMMENT ON TABLE public.departments IS 'Clinical departments';

CREATE TABLE public.doctors (
    doctor_id integer PRIMARY KEY,
    first_name varchar(40) NOT NULL,
    last_name varchar(40) NOT NULL,
    license_number varchar(12) NOT NULL UNIQUE,
    specialty varchar(60) NOT NULL,
    department_id integer NOT NULL REFERENCES public.departments (department_id),
    supervisor_id integer REFERENCES public.doctors (doctor_id),
    hired_on date NOT NULL,
    is_active smallint NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    email varchar(120)
);
COMMENT ON TABLE public.doctors IS 'Medical staff; supervisor_id points to the supervising doctor';

CREATE TABLE public.patients (
    patient_id integer PRIMARY KEY,
    first_name varchar(40) NOT NULL,
    last_name varchar(40) NOT NULL,
    birth_date date NOT NULL,
    sex char(1) NOT NULL CHECK (sex IN ('F', 'M')),
    city varchar(40),
    insurance_provider varchar(40),
    phone varchar(20),
    registered_on date NOT NULL
);

CREATE TABLE public.wards (
    ward_id integer PRIMARY KEY,
    name varchar(40) NOT NULL UNIQUE,
    department_id integer NOT NULL REFERENCES public.departments (department_id),
    floor smallint NOT NULL,
    bed_count smallint NOT NULL,
    daily_rate numeric(8, 2) NOT NULL
);

CREATE TABLE public.admissions (
    admission_id integer PRIMARY KEY,
    patient_id integer NOT NULL REFERENCES public.patients (patient_id),
    ward_id integer NOT NULL REFERENCES public.wards (ward_id),
    attending_doctor_id integer NOT NULL REFERENCES public.doctors (doctor_id),
    admission_type varchar(10) NOT NULL CHECK (admission_type IN ('emergency', 'elective', 'transfer')),
    admitted_at date NOT NULL,
    discharged_at date,
    diagnosis varchar(80),
    CHECK (discharged_at IS NULL OR discharged_at >= admitted_at)
);
COMMENT ON TABLE public.admissions IS 'Inpatient stays; discharged_at is NULL while the patient is still in hospital';

CREATE TABLE public.appointments (
    appointment_id bigint NOT NULL,
    patient_id integer NOT NULL REFERENCES public.patients (patient_id),
    doctor_id integer NOT NULL REFERENCES public.doctors (doctor_id),
    scheduled_at timestamp NOT NULL,
    status public.appointment_status NOT NULL DEFAULT 'scheduled',
    reason varchar(80),
    fee numeric(8, 2) NOT NULL,
    PRIMARY KEY (appointment_id, scheduled_at)
) PARTITION BY RANGE (scheduled_at);
COMMENT ON TABLE public.appointments IS 'Outpatient appointments, partitioned by month';

DO $$
DECLARE m date;
BEGIN
  FOR m IN SELECT generate_series(date '2021-01-01', date '2024-12-01', interval '1 month')::date LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.appointments FOR VALUES FROM (%L) TO (%L)',
                   'appointments_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
  END LOOP;
END $$;

CREATE TABLE public.medications (
    medication_id integer PRIMARY KEY,
    name varchar(60) NOT NULL,
    form varchar(12) NOT NULL CHECK (form IN ('tablet', 'capsule', 'injection', 'syrup', 'ointment', 'inhaler')),
    strength varchar(20),
    unit_price numeric(8, 2) NOT NULL,
    is_controlled smallint NOT NULL DEFAULT 0 CHECK (is_controlled IN (0, 1))
);

CREATE TABLE public.prescriptions (
    prescription_id integer PRIMARY KEY,
    appointment_id bigint NOT NULL,
    patient_id integer NOT NULL REFERENCES public.patients (patient_id),
    doctor_id integer NOT NULL REFERENCES public.doctors (doctor_id),
    medication_id integer NOT NULL REFERENCES public.medications (medication_id),
    prescribed_at timestamp NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    dosage varchar(40),
    dispensed_at timestamp
);
COMMENT ON TABLE public.prescriptions IS 'Medications prescribed during appointments; dispensed_at is set by the pharmacy';

CREATE TABLE public.invoices (
    invoice_id integer PRIMARY KEY,
    patient_id integer NOT NULL REFERENCES public.patients (patient_id),
    admission_id integer REFERENCES public.admissions (admission_id),
    issued_on date NOT NULL,
    due_on date NOT NULL,
    amount numeric(10, 2) NOT NULL,
    paid_on date
);

-- ---------------------------------------------------------------- data
INSERT INTO public.departments VALUES
 (1, 'Cardiology', 3, '3100'), (2, 'Pediatrics', 2, '2100'), (3, 'Orthopedics', 4, '4100'),
 (4, 'Neurology', 5, '5100'), (5, 'Oncology', 6, '6100'), (6, 'Emergency', 1, '1100'),
 (7, 'General Surgery', 4, '4200'), (8, 'Dermatology', 2, '2200');

-- 40 doctors: 1-8 head their department, 9-32 report to the head, 33-40 report to doctors 9-16
INSERT INTO public.doctors
SELECT n,
       (ARRAY['James','Mary','Robert','Patricia','Michael','Linda','William','Elizabeth','David','Barbara',
              'Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen','Daniel','Nancy',
              'Matthew','Lisa','Anthony','Betty','Mark','Sandra','Steven','Ashley','Paul','Emily',
              'Andrew','Donna','Joshua','Michelle','Kevin','Carol','Brian','Amanda','George','Melissa'])[n],
       (ARRAY['Harris','Clark','Lewis','Walker','Hall','Young','King','Wright','Scott','Green','Baker','Adams',
              'Nelson','Hill','Campbell','Mitchell','Roberts','Carter','Phillips','Evans'])[1 + (n * 7) % 20],
       'MD' || lpad((10000 + n * 379)::text, 6, '0'),
       (ARRAY['Cardiologist', 'Pediatrician', 'Orthopedic Surgeon', 'Neurologist', 'Oncologist',
              'Emergency Physician', 'General Surgeon', 'Dermatologist'])[1 + (n - 1) % 8],
       1 + (n - 1) % 8,
       CASE WHEN n <= 8 THEN NULL WHEN n <= 32 THEN 1 + (n - 1) % 8 ELSE n - 24 END,
       CASE n WHEN 39 THEN date '2024-11-04' WHEN 40 THEN date '2024-12-02' ELSE date '2005-01-10' + n * 150 END,
       CASE WHEN n IN (11, 22, 33) THEN 0 ELSE 1 END,
       lower((ARRAY['James','Mary','Robert','Patricia','Michael','Linda','William','Elizabeth','David','Barbara',
              'Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen','Daniel','Nancy',
              'Matthew','Lisa','Anthony','Betty','Mark','Sandra','Steven','Ashley','Paul','Emily',
              'Andrew','Donna','Joshua','Michelle','Kevin','Carol','Brian','Amanda','George','Melissa'])[n]) || '.' || n || '@stmarys-hospital.org'
FROM generate_series(1, 40) AS n;

INSERT INTO public.patients
SELECT n,
       (ARRAY['Olivia','Liam','Emma','Noah','Ava','Elijah','Sophia','Lucas','Mia','Mason','Amelia','Ethan',
              'Harper','Logan','Evelyn','Jacob','Abigail','Aiden','Ella','Jackson','Scarlett','Levi','Grace',
              'Owen'])[1 + n % 24],
       (ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
              'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Taylor','Moore','Jackson','Martin','Lee',
              'Perez','Thompson','White','Sanchez','Ramirez','Torres','Nguyen'])[1 + (n / 24 * 5) % 27],
       date '1935-01-01' + (n * 4973) % 31000,
       CASE WHEN n % 2 = 0 THEN 'F' ELSE 'M' END,
       (ARRAY['Springfield','Riverside','Fairview','Greenville','Madison','Georgetown','Franklin','Clinton'])[1 + (n * 3) % 8],
       CASE WHEN n % 6 = 0 THEN NULL
            ELSE (ARRAY['BlueCross', 'Aetna', 'Cigna', 'UnitedHealth', 'Humana'])[1 + (n * 7) % 5] END,
       '555-' || lpad(((n * 7919) % 10000)::text, 4, '0'),
       date '2012-03-01' + n * 5
FROM generate_series(1, 600) AS n;

INSERT INTO public.wards VALUES
 (1, 'Cardiac Care Unit', 1, 3, 14, 1450.00), (2, 'Cardiology Step-Down', 1, 3, 20, 980.00),
 (3, 'Pediatric Ward', 2, 2, 24, 760.00), (4, 'Neonatal ICU', 2, 2, 10, 1900.00),
 (5, 'Orthopedic Ward', 3, 4, 22, 820.00), (6, 'Neurology Ward', 4, 5, 18, 910.00),
 (7, 'Oncology Ward', 5, 6, 20, 1100.00), (8, 'Oncology Day Unit', 5, 6, 8, 640.00),
 (9, 'ER Observation', 6, 1, 16, 700.00), (10, 'Surgical Ward A', 7, 4, 26, 880.00),
 (11, 'Surgical Ward B', 7, 4, 26, 880.00), (12, 'Surgical ICU', 7, 4, 12, 2100.00);

-- 500 admissions, one every ~2.9 days; patients 451-600 are never admitted
INSERT INTO public.admissions
SELECT n,
       1 + (n * 53) % 450,
       w.ward_id,
       w.department_id + 8 * (n % 4),
       CASE WHEN n % 3 = 0 THEN 'elective' WHEN n % 11 = 0 THEN 'transfer' ELSE 'emergency' END,
       date '2021-01-03' + n * 1458 / 500,
       CASE WHEN date '2021-01-03' + n * 1458 / 500 + (1 + (n * 7) % 15 + CASE WHEN n % 10 = 0 THEN 12 ELSE 0 END) > date '2024-12-31'
            THEN NULL
            ELSE date '2021-01-03' + n * 1458 / 500 + (1 + (n * 7) % 15 + CASE WHEN n % 10 = 0 THEN 12 ELSE 0 END) END,
       (ARRAY['Myocardial infarction','Pneumonia','Hip fracture','Stroke','Appendicitis','Heart failure',
              'Chemotherapy cycle','Bronchiolitis','Concussion','Cholecystitis','Sepsis','Femur fracture',
              'Atrial fibrillation','Seizure','Hernia repair'])[1 + (n * 11) % 15]
FROM generate_series(1, 500) AS n
JOIN public.wards w ON w.ward_id = (ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 9, 10, 2, 7, 9])[1 + (n * 7) % 17];

-- 4800 appointments, ~3.3 per day; doctors 39 and 40 (hired late 2024) have none,
-- inactive doctors (11, 22, 33) have none after 2022
INSERT INTO public.appointments (appointment_id, patient_id, doctor_id, scheduled_at, status, reason, fee)
SELECT n,
       1 + (n * 37) % 560,
       d.doc,
       date '2021-01-01' + (n - 1) * 1461 / 4800 + time '08:00' + make_interval(mins => 75 * (n % 7) + n % 5),
       CASE WHEN date '2021-01-01' + (n - 1) * 1461 / 4800 >= date '2024-12-20'
                 THEN (CASE WHEN n % 2 = 0 THEN 'confirmed' ELSE 'scheduled' END)::public.appointment_status
            WHEN n % 13 = 0 THEN 'cancelled'
            WHEN n % 17 = 0 THEN 'no_show'
            ELSE 'completed' END,
       (ARRAY['Routine check-up','Follow-up','Chest pain','Headache','Back pain','Skin rash','Fever',
              'Post-operative review','Vaccination','Lab results review'])[1 + (n * 3) % 10],
       (ARRAY[220.00, 180.00, 250.00, 260.00, 300.00, 200.00, 240.00, 170.00])[1 + (d.doc - 1) % 8]
         + CASE WHEN d.doc <= 8 THEN 60 ELSE 0 END
FROM generate_series(1, 4800) AS n
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.doc IN (11, 22, 33) AND n > 2400 THEN x.doc - 8 ELSE x.doc END AS doc
    FROM (SELECT CASE WHEN n % 4 = 0 THEN (ARRAY[2, 4, 2, 6, 8, 4, 2, 3, 1, 5, 2, 6, 7, 4, 9, 8, 2, 20, 6, 4])[1 + (n / 4) % 20] ELSE 1 + (n * 7) % 38 END AS doc) x
) d;

INSERT INTO public.medications VALUES
 (1, 'Amoxicillin', 'capsule', '500 mg', 0.45, 0), (2, 'Ibuprofen', 'tablet', '400 mg', 0.12, 0),
 (3, 'Paracetamol', 'tablet', '500 mg', 0.08, 0), (4, 'Atorvastatin', 'tablet', '20 mg', 0.60, 0),
 (5, 'Metoprolol', 'tablet', '50 mg', 0.35, 0), (6, 'Lisinopril', 'tablet', '10 mg', 0.25, 0),
 (7, 'Warfarin', 'tablet', '5 mg', 0.40, 0), (8, 'Morphine', 'injection', '10 mg/ml', 24.50, 1),
 (9, 'Oxycodone', 'tablet', '10 mg', 3.20, 1), (10, 'Fentanyl patch', 'ointment', '25 mcg/h', 38.00, 1),
 (11, 'Diazepam', 'tablet', '5 mg', 0.90, 1), (12, 'Lorazepam', 'tablet', '1 mg', 1.10, 1),
 (13, 'Methylphenidate', 'tablet', '10 mg', 2.75, 1), (14, 'Ketamine', 'injection', '50 mg/ml', 21.00, 1),
 (15, 'Salbutamol', 'inhaler', '100 mcg', 12.40, 0), (16, 'Insulin glargine', 'injection', '100 U/ml', 45.00, 0),
 (17, 'Ceftriaxone', 'injection', '1 g', 9.80, 0), (18, 'Omeprazole', 'capsule', '20 mg', 0.30, 0),
 (19, 'Prednisone', 'tablet', '20 mg', 0.22, 0), (20, 'Hydrocortisone cream', 'ointment', '1%', 6.50, 0),
 (21, 'Cetirizine', 'tablet', '10 mg', 0.15, 0), (22, 'Amoxicillin syrup', 'syrup', '250 mg/5 ml', 7.90, 0),
 (23, 'Levetiracetam', 'tablet', '500 mg', 1.80, 0), (24, 'Tamoxifen', 'tablet', '20 mg', 1.40, 0),
 (25, 'Ondansetron', 'injection', '4 mg/2 ml', 5.60, 0), (26, 'Methotrexate', 'injection', '25 mg/ml', 32.00, 0),
 (27, 'Tramadol', 'capsule', '50 mg', 0.95, 1), (28, 'Buprenorphine', 'tablet', '2 mg', 4.10, 1),
 (29, 'Isotretinoin', 'capsule', '20 mg', 3.90, 0), (30, 'Clopidogrel', 'tablet', '75 mg', 0.70, 0);

-- prescriptions for about half of the completed appointments; medications 28-30 never prescribed
INSERT INTO public.prescriptions
SELECT row_number() OVER (ORDER BY a.scheduled_at, a.appointment_id),
       a.appointment_id, a.patient_id, a.doctor_id,
       CASE WHEN a.appointment_id % 5 = 0 THEN 1 + (a.appointment_id / 5) % 6
            ELSE 1 + (a.appointment_id * 11) % 27 END,
       a.scheduled_at + interval '20 minutes',
       CASE WHEN a.appointment_id % 3 = 0 THEN 1 + a.appointment_id % 4 ELSE 5 + (a.appointment_id * 3) % 56 END,
       (ARRAY['1 tablet every 8h', '1 tablet daily', 'twice a day', 'as needed', 'once a week'])[1 + a.appointment_id % 5],
       CASE WHEN a.appointment_id % 9 = 0 OR a.scheduled_at >= timestamp '2024-12-27' THEN NULL
            ELSE a.scheduled_at + make_interval(hours => 1 + (a.appointment_id % 30)::int) END
FROM public.appointments a
WHERE a.status = 'completed' AND a.appointment_id % 2 = 0;

-- one invoice per finished stay
INSERT INTO public.invoices
SELECT row_number() OVER (ORDER BY ad.discharged_at, ad.admission_id),
       ad.patient_id, ad.admission_id,
       ad.discharged_at + 2, ad.discharged_at + 32,
       (ad.discharged_at - ad.admitted_at) * w.daily_rate + 350 + (ad.admission_id % 7) * 120,
       CASE WHEN ad.admission_id % 8 = 0 OR ad.discharged_at + 2 > date '2024-12-10' THEN NULL
            ELSE ad.discharged_at + 2 + (5 + ad.admission_id % 25) END
FROM public.admissions ad
JOIN public.wards w ON w.ward_id = ad.ward_id
WHERE ad.discharged_at IS NOT NULL;

-- reporting snapshot, refreshed by a nightly job (not populated in this copy)
CREATE MATERIALIZED VIEW public.department_monthly_stats AS
SELECT dep.department_id, dep.name AS department, date_trunc('month', a.scheduled_at)::date AS month,
       count(*) AS appointments,
       count(*) FILTER (WHERE a.status = 'completed') AS completed,
       count(*) FILTER (WHERE a.status = 'no_show') AS no_shows,
       sum(a.fee) FILTER (WHERE a.status = 'completed') AS revenue
FROM public.appointments a
JOIN public.doctors d ON d.doctor_id = a.doctor_id
JOIN public.departments dep ON dep.department_id = d.department_id
GROUP BY dep.department_id, dep.name, date_trunc('month', a.scheduled_at)::date
WITH NO DATA;

ANALYZE;
