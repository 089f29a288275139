-- Held-out schema: B2B SaaS company (English names), schema public.
-- Deterministic data (generate_series + arithmetic), 2021-2024. All timestamps are 09:00-17:00 UTC.
DROP MATERIALIZED VIEW IF EXISTS mv_account_mrr;
DROP TABLE IF EXISTS usage_events, support_tickets, payments, invoice_lines, invoices, subscriptions,
    users, accounts, plan_features, features, plans CASCADE;
DROP TYPE IF EXISTS subscription_status, ticket_priority;

CREATE TYPE subscription_status AS ENUM ('trialing', 'active', 'past_due', 'canceled');
CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'high', 'urgent');

CREATE TABLE plans (
    id                      integer PRIMARY KEY,
    code                    text NOT NULL UNIQUE,
    name                    text NOT NULL,
    price_per_seat_month    numeric(8,2) NOT NULL,
    is_legacy               boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE plans IS 'Price book; price is per seat per month (annual contracts are invoiced 12 months at once)';

CREATE TABLE features (
    id          integer PRIMARY KEY,
    key         text NOT NULL UNIQUE,
    name        text NOT NULL,
    category    text NOT NULL
);

CREATE TABLE plan_features (
    plan_id     integer NOT NULL REFERENCES plans(id),
    feature_id  integer NOT NULL REFERENCES features(id),
    usage_limit integer,
    PRIMARY KEY (plan_id, feature_id)
);
COMMENT ON COLUMN plan_features.usage_limit IS 'monthly cap for metered features, NULL = unlimited';

CREATE TABLE accounts (
    id              integer PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    domain          text NOT NULL UNIQUE,
    industry        text NOT NULL,
    country         char(2) NOT NULL,
    is_enterprise   smallint NOT NULL DEFAULT 0 CHECK (is_enterprise IN (0, 1)),
    created_at      timestamptz NOT NULL
);
COMMENT ON COLUMN accounts.is_enterprise IS '1 = enterprise contract (sales-led), 0 = self-serve';

CREATE TABLE users (
    id              integer PRIMARY KEY,
    account_id      integer REFERENCES accounts(id),
    email           text NOT NULL UNIQUE,
    full_name       text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer', 'support_agent')),
    is_staff        smallint NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1)),
    created_at      timestamptz NOT NULL,
    last_login_at   timestamptz
);
COMMENT ON TABLE users IS 'Customer users (account_id set) and our own support staff (is_staff = 1, account_id NULL)';

CREATE TABLE subscriptions (
    id                  integer PRIMARY KEY,
    account_id          integer NOT NULL UNIQUE REFERENCES accounts(id),
    plan_id             integer NOT NULL REFERENCES plans(id),
    status              subscription_status NOT NULL,
    seats               integer NOT NULL CHECK (seats > 0),
    billing_interval    text NOT NULL CHECK (billing_interval IN ('monthly', 'annual')),
    started_at          date NOT NULL,
    canceled_at         timestamptz
);

CREATE TABLE invoices (
    id              integer PRIMARY KEY,
    number          text NOT NULL UNIQUE,
    account_id      integer NOT NULL REFERENCES accounts(id),
    subscription_id integer NOT NULL REFERENCES subscriptions(id),
    issued_at       date NOT NULL,
    due_date        date NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'paid', 'uncollectible')),
    currency        char(3) NOT NULL DEFAULT 'USD'
);

CREATE TABLE invoice_lines (
    id          integer PRIMARY KEY,
    invoice_id  integer NOT NULL REFERENCES invoices(id),
    description text NOT NULL,
    quantity    integer NOT NULL,
    unit_price  numeric(10,2) NOT NULL,
    discount    numeric(4,3) NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1)
);
COMMENT ON TABLE invoice_lines IS 'line amount = quantity * unit_price * (1 - discount)';

CREATE TABLE payments (
    id          integer PRIMARY KEY,
    invoice_id  integer NOT NULL REFERENCES invoices(id),
    paid_at     timestamptz NOT NULL,
    amount      numeric(12,2) NOT NULL,
    method      text NOT NULL CHECK (method IN ('card', 'ach', 'wire'))
);

CREATE TABLE support_tickets (
    id                  integer PRIMARY KEY,
    account_id          integer NOT NULL REFERENCES accounts(id),
    opened_by_user_id   integer NOT NULL REFERENCES users(id),
    assigned_to_user_id integer REFERENCES users(id),
    subject             text NOT NULL,
    category            text NOT NULL CHECK (category IN ('billing', 'bug', 'how_to', 'feature_request', 'outage')),
    priority            ticket_priority NOT NULL DEFAULT 'normal',
    created_at          timestamptz NOT NULL,
    resolved_at         timestamptz,
    csat_score          smallint CHECK (csat_score BETWEEN 1 AND 5)
);
COMMENT ON COLUMN support_tickets.assigned_to_user_id IS 'support agent (users.is_staff = 1) handling the ticket';

CREATE TABLE usage_events (
    id          bigint NOT NULL,
    account_id  integer NOT NULL REFERENCES accounts(id),
    user_id     integer NOT NULL REFERENCES users(id),
    feature_id  integer NOT NULL REFERENCES features(id),
    occurred_at timestamptz NOT NULL,
    quantity    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
COMMENT ON TABLE usage_events IS 'Product usage, one partition per month';

DO $$
DECLARE m date;
BEGIN
    FOR m IN SELECT generate_series(date '2021-01-01', date '2024-12-01', interval '1 month')::date LOOP
        EXECUTE format('CREATE TABLE usage_events_%s PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
                       to_char(m, 'YYYY_MM'), m::timestamptz, (m + interval '1 month')::timestamptz);
    END LOOP;
END $$;

-- ------------------------------------------------------------------ data
INSERT INTO plans VALUES
 (1, 'starter',     'Starter',        12.00, false),
 (2, 'team',        'Team',           25.00, false),
 (3, 'business',    'Business',       49.00, false),
 (4, 'enterprise',  'Enterprise',     89.00, false),
 (5, 'team_2020',   'Team (2020)',    19.00, true);

INSERT INTO features VALUES
 (1,  'dashboards',        'Dashboards',            'core'),
 (2,  'api_access',        'API access',            'integrations'),
 (3,  'webhooks',          'Webhooks',              'integrations'),
 (4,  'data_export',       'Data export',           'core'),
 (5,  'advanced_reports',  'Advanced reports',      'analytics'),
 (6,  'sso',               'Single sign-on (SAML)', 'security'),
 (7,  'audit_log',         'Audit log',             'security'),
 (8,  'custom_roles',      'Custom roles',          'security'),
 (9,  'sandbox',           'Sandbox environments',  'platform'),
 (10, 'priority_support',  'Priority support',      'support'),
 (11, 'ip_allowlist',      'IP allowlisting',       'security'),
 (12, 'ai_assistant',      'AI assistant (beta)',   'analytics');

INSERT INTO plan_features VALUES
 (1, 1, NULL), (1, 4, 50),
 (2, 1, NULL), (2, 2, 10000), (2, 4, NULL), (2, 5, NULL),
 (3, 1, NULL), (3, 2, 100000), (3, 3, NULL), (3, 4, NULL), (3, 5, NULL), (3, 6, NULL), (3, 8, NULL),
 (4, 1, NULL), (4, 2, NULL), (4, 3, NULL), (4, 4, NULL), (4, 5, NULL), (4, 6, NULL), (4, 7, NULL), (4, 8, NULL), (4, 9, NULL), (4, 10, NULL),
 (5, 1, NULL), (5, 2, 5000), (5, 4, NULL);

INSERT INTO accounts
SELECT k,
       (ARRAY['Acme','Bluefin','Northwind','Vertex','Lumen','Quanta','Harbor','Summit','Pixel','Cobalt','Orbit','Maple','Granite','Nimbus'])[1 + (k - 1) % 14]
         || ' ' || (ARRAY['Labs','Systems','Analytics','Logistics','Health','Media','Retail','Capital','Robotics','Foods'])[1 + (k - 1) / 14],
       lower((ARRAY['Acme','Bluefin','Northwind','Vertex','Lumen','Quanta','Harbor','Summit','Pixel','Cobalt','Orbit','Maple','Granite','Nimbus'])[1 + (k - 1) % 14]
         || (ARRAY['Labs','Systems','Analytics','Logistics','Health','Media','Retail','Capital','Robotics','Foods'])[1 + (k - 1) / 14]) || '.com',
       (ARRAY['fintech','healthcare','retail','logistics','media','education','manufacturing','software'])[1 + (k * 3) % 8],
       (ARRAY['US','US','GB','DE','FR','BR','CA','NL','AU','US','IN','ES'])[1 + (k * 7) % 12],
       CASE WHEN k % 6 = 0 OR k % 11 = 0 THEN 1 ELSE 0 END,
       timestamptz '2021-01-05 10:00+00' + (k - 1) * interval '10 days' + (k % 6) * interval '1 hour'
FROM generate_series(1, 140) k;

-- customer users: account k gets 2..12 users; user ids are sequential per account
INSERT INTO users
SELECT g, k,
       lower(fn) || '.' || lower(ln) || '@' || a.domain,
       fn || ' ' || ln,
       CASE WHEN j = 0 THEN 'owner' WHEN j = 1 THEN 'admin' WHEN j % 4 = 3 THEN 'viewer' ELSE 'member' END,
       0,
       least(a.created_at + j * interval '23 days', timestamptz '2024-12-20 10:00+00'),
       CASE WHEN g % 9 = 0 THEN NULL
            ELSE least(a.created_at + j * interval '23 days' + (5 + g % 300) * interval '1 day' + interval '3 hours',
                       timestamptz '2024-12-30 12:00+00' - (g % 40) * interval '1 hour') END
FROM (SELECT k, j, row_number() OVER (ORDER BY k, j) AS g
      FROM generate_series(1, 140) k, LATERAL generate_series(0, 1 + (k * 5) % 11) j) x
JOIN accounts a ON a.id = x.k,
LATERAL (SELECT (ARRAY['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda','David','Elizabeth',
                       'William','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Daniel','Karen'])[1 + g % 20] AS fn,
                (ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
                       'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Taylor','Moore','Jackson','Martin','Lee'])[1 + (g / 20) % 20] AS ln) n;

-- support staff (ids 2001..2010); Omar Haddad joined in December 2024 and has no tickets yet
INSERT INTO users VALUES
 (2001, NULL, 'priya.natarajan@brightloop.io', 'Priya Natarajan', 'support_agent', 1, '2020-06-01 09:00+00', '2024-12-30 16:00+00'),
 (2002, NULL, 'tom.becker@brightloop.io',      'Tom Becker',      'support_agent', 1, '2020-06-01 09:00+00', '2024-12-30 15:00+00'),
 (2003, NULL, 'lucia.ferraro@brightloop.io',   'Lucia Ferraro',   'support_agent', 1, '2020-09-14 09:00+00', '2024-12-27 14:00+00'),
 (2004, NULL, 'kwame.mensah@brightloop.io',    'Kwame Mensah',    'support_agent', 1, '2020-10-01 09:00+00', '2024-12-30 11:00+00'),
 (2005, NULL, 'sofia.lindqvist@brightloop.io', 'Sofia Lindqvist', 'support_agent', 1, '2020-11-16 09:00+00', '2024-12-23 10:00+00'),
 (2006, NULL, 'diego.ramos@brightloop.io',     'Diego Ramos',     'support_agent', 1, '2020-11-30 09:00+00', '2024-12-30 13:00+00'),
 (2007, NULL, 'hana.sato@brightloop.io',       'Hana Sato',       'support_agent', 1, '2020-12-01 09:00+00', '2024-12-30 12:00+00'),
 (2008, NULL, 'ben.okafor@brightloop.io',      'Ben Okafor',      'support_agent', 1, '2021-01-11 09:00+00', '2024-12-20 09:00+00'),
 (2009, NULL, 'chloe.martin@brightloop.io',    'Chloe Martin',    'support_agent', 1, '2021-01-18 09:00+00', '2024-12-30 14:00+00'),
 (2010, NULL, 'omar.haddad@brightloop.io',     'Omar Haddad',     'support_agent', 1, '2024-12-02 09:00+00', '2024-12-30 09:00+00');

INSERT INTO subscriptions
SELECT k, k,
       CASE WHEN a.is_enterprise = 1 THEN 4
            WHEN k < 40 AND k % 4 = 1 THEN 5
            ELSE (ARRAY[1, 2, 2, 3, 1, 2, 3])[1 + k % 7] END,
       CASE WHEN a.created_at >= '2024-10-01' THEN 'trialing'
            WHEN k % 7 = 3 AND a.created_at + (150 + (k * 13) % 600) * interval '1 day' < '2024-12-15' THEN 'canceled'
            WHEN k % 13 = 5 THEN 'past_due'
            ELSE 'active' END::subscription_status,
       CASE WHEN a.is_enterprise = 1 THEN 60 + (k * 17) % 240 ELSE 3 + (k * 7) % 45 END,
       CASE WHEN k % 4 = 0 OR a.is_enterprise = 1 THEN 'annual' ELSE 'monthly' END,
       (a.created_at + interval '14 days')::date,
       CASE WHEN k % 7 = 3 AND a.created_at >= '2024-10-01' THEN NULL
            WHEN k % 7 = 3 AND a.created_at + (150 + (k * 13) % 600) * interval '1 day' < '2024-12-15'
            THEN a.created_at + (150 + (k * 13) % 600) * interval '1 day' + interval '2 hours' END
FROM accounts a, LATERAL (SELECT a.id AS k) kk
ORDER BY k;

INSERT INTO invoices
SELECT row_number() OVER (ORDER BY issued, s.id),
       'INV-' || to_char(issued, 'YYYYMM') || '-' || lpad(s.id::text, 4, '0'),
       s.account_id, s.id, issued, issued + 30,
       CASE WHEN issued >= '2024-12-01' THEN 'open'
            WHEN s.status = 'past_due' AND issued >= '2024-09-15' THEN 'open'
            WHEN s.status = 'canceled' AND issued + 45 > s.canceled_at::date AND s.id % 2 = 1 THEN 'uncollectible'
            ELSE 'paid' END,
       'USD'
FROM subscriptions s,
     LATERAL (SELECT (s.started_at + m * (CASE WHEN s.billing_interval = 'annual' THEN 12 ELSE 1 END) * interval '1 month')::date AS issued
              FROM generate_series(0, 47) m) i
WHERE s.status <> 'trialing'
  AND i.issued <= '2024-12-20'
  AND (s.canceled_at IS NULL OR i.issued < s.canceled_at::date);

INSERT INTO invoice_lines
SELECT row_number() OVER (ORDER BY invoice_id, ord), invoice_id, description, quantity, unit_price, discount
FROM (
    -- subscription line
    SELECT i.id AS invoice_id, 1 AS ord,
           p.name || ' plan, ' || s.seats || ' seats' || CASE WHEN s.billing_interval = 'annual' THEN ' (12 months)' ELSE '' END AS description,
           s.seats AS quantity,
           p.price_per_seat_month * CASE WHEN s.billing_interval = 'annual' THEN 12 ELSE 1 END AS unit_price,
           CASE WHEN a.is_enterprise = 1 THEN 0.200
                WHEN s.account_id % 10 = 0 AND i.issued_at < s.started_at + interval '3 months' THEN 0.500
                WHEN s.account_id % 9 = 2 THEN 0.050
                ELSE 0 END AS discount
    FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id
    JOIN plans p ON p.id = s.plan_id JOIN accounts a ON a.id = s.account_id
    UNION ALL
    -- metered API overage (thousands of calls)
    SELECT i.id, 2, 'API overage (1k calls)', 5 + (i.id * 37) % 180, 2.50,
           CASE WHEN i.id % 11 = 0 THEN 0.250 ELSE 0 END
    FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id
    WHERE i.id % 4 = 0 AND s.plan_id IN (2, 3, 4, 5)
    UNION ALL
    -- one-off onboarding on the first invoice of enterprise accounts
    SELECT i.id, 3, 'Onboarding & implementation services', 1, 4500.00, 0.100
    FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id JOIN accounts a ON a.id = s.account_id
    WHERE a.is_enterprise = 1 AND i.issued_at = s.started_at
) l;

INSERT INTO payments
SELECT row_number() OVER (ORDER BY i.issued_at, i.id), i.id,
       (i.issued_at + 2 + (i.id * 7) % 25)::timestamp AT TIME ZONE 'UTC' + interval '9 hours' + (i.id % 8) * interval '1 hour' + (i.id % 59) * interval '1 minute',
       t.total,
       CASE WHEN a.is_enterprise = 1 THEN 'wire' WHEN s.billing_interval = 'annual' THEN 'ach' ELSE 'card' END
FROM invoices i
JOIN subscriptions s ON s.id = i.subscription_id
JOIN accounts a ON a.id = i.account_id
JOIN LATERAL (SELECT round(sum(quantity * unit_price * (1 - discount)), 2) AS total FROM invoice_lines l WHERE l.invoice_id = i.id) t ON true
WHERE i.status = 'paid';

INSERT INTO support_tickets
SELECT row_number() OVER (ORDER BY t), acc, u.id,
       CASE WHEN created >= '2024-12-15' AND t % 3 = 0 THEN NULL WHEN t % 10 = 0 THEN 2004 WHEN t % 15 = 1 THEN 2002 ELSE 2001 + (t * 7) % 9 END,
       (ARRAY['Cannot export report to CSV','Invoice shows wrong seat count','SSO login loop','Webhook retries failing',
              'How do I add a viewer role?','Dashboard loads slowly','Request: dark mode','API returns 500 on /v2/items',
              'Charged twice this month','Outage: app not loading'])[1 + t % 10],
       (ARRAY['how_to','billing','bug','bug','how_to','bug','feature_request','bug','billing','outage'])[1 + t % 10],
       (ARRAY['low','normal','normal','high','urgent','normal','low','high','normal','urgent','normal'])[1 + t % 11]::ticket_priority,
       created,
       CASE WHEN created >= '2024-12-10' OR t % 37 = 0 THEN NULL
            ELSE created + (CASE WHEN t % 11 IN (4, 9) THEN 1 + t % 30 WHEN t % 11 IN (3, 7) THEN 4 + t % 90
                                 WHEN t % 11 IN (0, 6) THEN 30 + t % 200 ELSE 8 + t % 150 END) * interval '1 hour' END,
       CASE WHEN created >= '2024-12-10' OR t % 37 = 0 OR t % 4 = 0 THEN NULL ELSE 1 + (t * 3) % 5 END
FROM (SELECT t, created, CASE WHEN t % 9 = 0 AND t > 300 THEN (ARRAY[12, 42, 12, 55, 42, 12, 55])[1 + (t / 9) % 7]
                     ELSE 1 + (t * 11) % greatest(1, ((created::date - date '2021-01-05') / 10)) END AS acc
      FROM (SELECT t, (date '2021-02-01' + (t * 1425) / 720)::timestamp AT TIME ZONE 'UTC'
                      + interval '9 hours' + (t % 8) * interval '1 hour' + (t * 7 % 60) * interval '1 minute' AS created
            FROM generate_series(1, 720) t) c) x
JOIN subscriptions s ON s.account_id = x.acc
JOIN LATERAL (SELECT id FROM users WHERE account_id = x.acc AND created_at <= x.created ORDER BY id
              OFFSET x.t % (SELECT count(*) FROM users WHERE account_id = x.acc AND created_at <= x.created) LIMIT 1) u ON true
WHERE (s.canceled_at IS NULL OR x.created < s.canceled_at)
  AND x.acc NOT IN (35, 70, 105, 124);

INSERT INTO usage_events
SELECT row_number() OVER (ORDER BY e), acc, u.id, f.feature_id, occurred, 1 + (e * 13) % 50
FROM (SELECT e, occurred, 1 + (e * 7) % greatest(1, ((occurred::date - date '2021-01-05') / 10)) AS acc
      FROM (SELECT e, (date '2021-01-06' + (e * 1450) / 4200)::timestamp AT TIME ZONE 'UTC'
                      + interval '10 hours' + (e % 6) * interval '1 hour' + (e * 11 % 60) * interval '1 minute' AS occurred
            FROM generate_series(1, 4200) e) c) x
JOIN subscriptions s ON s.account_id = x.acc
JOIN LATERAL (SELECT id FROM users WHERE account_id = x.acc AND created_at <= x.occurred ORDER BY id
              OFFSET x.e % (SELECT count(*) FROM users WHERE account_id = x.acc AND created_at <= x.occurred) LIMIT 1) u ON true
JOIN LATERAL (SELECT feature_id FROM plan_features WHERE plan_id = s.plan_id ORDER BY feature_id
              OFFSET x.e % (SELECT count(*) FROM plan_features WHERE plan_id = s.plan_id) LIMIT 1) f ON true
WHERE (s.canceled_at IS NULL OR x.occurred < s.canceled_at)
  AND NOT (x.acc % 19 = 7 AND x.occurred >= '2024-01-01');

CREATE MATERIALIZED VIEW mv_account_mrr AS
SELECT a.id AS account_id, a.name, p.code AS plan, s.seats, s.seats * p.price_per_seat_month AS mrr
FROM subscriptions s
JOIN accounts a ON a.id = s.account_id
JOIN plans p ON p.id = s.plan_id
WHERE s.status = 'active'
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_account_mrr IS 'MRR per active account; refreshed nightly by the BI job';

ANALYZE;
