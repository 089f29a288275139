-- PetCare demo database: generated data (about 190,000 rows, 4 to 6 seconds).
--
-- Deterministic: every value is derived from a hash of (row number, salt) through pg_temp.r(), never from
-- random(), so the same rows come out whatever the plan or the order of evaluation (checked: byte-identical
-- on PostgreSQL 15 and on pgserver's 16). Dates are relative to an
-- anchor day: the setting petcare.demo_anchor (a date) when set, else today in America/Sao_Paulo. History
-- (users, conversations, messages, orders, past appointments) ends at the anchor day's midnight; appointments
-- and reminders run about five weeks past it, as a live agenda does.
--
-- Run after 01_schema.sql, inside the same transaction (the temporary tables are ON COMMIT DROP), e.g.
--   psql -1 -v ON_ERROR_STOP=1 -f sql/demo/01_schema.sql -f sql/demo/02_data.sql
-- dba_admin.demo.load_demo() does exactly that, once per database.

-- The temporary tables below have no statistics, so the planner's cost estimates are huge and JIT compilation
-- (where the server has it) would take ten times longer than the work itself.
set local jit = off;

-- ---------------------------------------------------------------------------------------------------------
-- Helpers (session-local, dropped at the end)
-- ---------------------------------------------------------------------------------------------------------

-- Uniform [0, 1) from a key and a salt.
create function pg_temp.r(k bigint, salt integer) returns double precision
    language sql immutable
    as $$ select (pg_catalog.hashint8extended(k, salt) & 2147483647)::double precision / 2147483648.0 $$;

-- Uniform integer in [lo, hi].
create function pg_temp.ri(lo integer, hi integer, k bigint, salt integer) returns integer
    language sql immutable
    as $$ select lo + floor(pg_temp.r(k, salt) * (hi - lo + 1))::integer $$;

-- One element of a text array.
create function pg_temp.pick(a text[], k bigint, salt integer) returns text
    language sql immutable
    as $$ select a[1 + floor(pg_temp.r(k, salt) * cardinality(a))::integer] $$;

create function pg_temp.uid(n bigint) returns uuid
    language sql immutable
    as $$ select md5('petcare-user-' || n)::uuid $$;

create function pg_temp.day0() returns date
    language sql stable
    as $$ select coalesce(nullif(current_setting('petcare.demo_anchor', true), '')::date,
                          (now() at time zone 'America/Sao_Paulo')::date) $$;

-- A local time in the clinic's time zone.
create function pg_temp.at_sp(d date, minutes integer) returns timestamptz
    language sql stable
    as $$ select (d + make_interval(mins => minutes)) at time zone 'America/Sao_Paulo' $$;

-- Users 1..5000 joined over three years, in id order; the last one yesterday.
create function pg_temp.uday(n bigint) returns date
    language sql stable
    as $$ select pg_temp.day0() - 1 - floor((5000 - n) * 1095.0 / 5000)::integer $$;

create function pg_temp.ucreated(n bigint) returns timestamptz
    language sql stable
    as $$ select pg_temp.at_sp(pg_temp.uday(n), pg_temp.ri(420, 1380, n, 7)) $$;

-- The first day user n may appear in the history: the day they joined, at most a year back, at most yesterday.
create function pg_temp.first_day(n bigint) returns date
    language sql stable
    as $$ select least(greatest(pg_temp.uday(n), pg_temp.day0() - 365), pg_temp.day0() - 1) $$;

-- A day between first_day(n) and yesterday. (Single expressions without FROM, so that the planner inlines them.)
create function pg_temp.active_day(n bigint, k bigint, salt integer) returns date
    language sql stable
    as $$ select pg_temp.first_day(n) + floor(pg_temp.r(k, salt) * (pg_temp.day0() - pg_temp.first_day(n)))::integer $$;

-- Money as written in Brazil: 1234.5 -> '1.234,50'.
create function pg_temp.brl(v numeric) returns text
    language sql immutable
    as $$ select translate(to_char(v, 'FM999,999,990.00'), ',.', '.,') $$;

-- A valid CPF (check digits computed) for a number.
create function pg_temp.cpf(n bigint) returns text
    language plpgsql immutable
    as $$
declare
    b text := lpad(((n * 387420489 + 123456789) % 1000000000)::text, 9, '0');  -- 3^18 is coprime with 10^9
    s integer := 0;
    d1 integer;
    d2 integer;
begin
    for i in 1..9 loop s := s + substr(b, i, 1)::integer * (11 - i); end loop;
    d1 := case when s % 11 < 2 then 0 else 11 - s % 11 end;
    s := 0;
    for i in 1..9 loop s := s + substr(b, i, 1)::integer * (12 - i); end loop;
    s := s + d1 * 2;
    d2 := case when s % 11 < 2 then 0 else 11 - s % 11 end;
    return substr(b, 1, 3) || '.' || substr(b, 4, 3) || '.' || substr(b, 7, 3) || '-' || d1 || d2;
end
$$;

create temp table _cfg on commit drop as
select pg_temp.day0() as day0, pg_temp.at_sp(pg_temp.day0(), 0) as anchor_ts;

create temp table _lists (name text primary key, items text[] not null) on commit drop;
insert into _lists values
('first_f', array['Ana', 'Maria', 'Juliana', 'Fernanda', 'Camila', 'Beatriz', 'Larissa', 'Patrícia', 'Aline',
    'Mariana', 'Gabriela', 'Letícia', 'Amanda', 'Bruna', 'Carolina', 'Vanessa', 'Renata', 'Tatiane', 'Daniela',
    'Luana', 'Isabela', 'Sofia', 'Helena', 'Valentina', 'Alice', 'Laura', 'Manuela', 'Giovanna', 'Priscila',
    'Débora', 'Cláudia', 'Sandra', 'Márcia', 'Luciana', 'Simone', 'Adriana', 'Cristina', 'Rafaela', 'Natália',
    'Yasmin', 'Lívia', 'Heloísa', 'Cecília', 'Raquel', 'Elaine', 'Jéssica', 'Thaís', 'Viviane']),
('first_m', array['João', 'José', 'Pedro', 'Lucas', 'Gabriel', 'Rafael', 'Mateus', 'Gustavo', 'Felipe',
    'Bruno', 'Rodrigo', 'Thiago', 'Marcelo', 'Eduardo', 'Leonardo', 'Daniel', 'Diego', 'Carlos', 'Paulo', 'André',
    'Fernando', 'Ricardo', 'Vinícius', 'Henrique', 'Miguel', 'Arthur', 'Heitor', 'Davi', 'Bernardo', 'Samuel',
    'Leandro', 'Fábio', 'Márcio', 'Roberto', 'Antônio', 'Francisco', 'Luiz', 'Caio', 'Igor', 'Otávio', 'Renato',
    'Sérgio', 'Wagner', 'Alexandre', 'Murilo', 'Enzo', 'Benício', 'Júlio']),
('surname', array['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira', 'Lima',
    'Gomes', 'Costa', 'Ribeiro', 'Martins', 'Carvalho', 'Almeida', 'Lopes', 'Soares', 'Fernandes', 'Vieira',
    'Barbosa', 'Rocha', 'Dias', 'Nascimento', 'Andrade', 'Moreira', 'Nunes', 'Marques', 'Machado', 'Mendes',
    'Freitas', 'Cardoso', 'Ramos', 'Gonçalves', 'Santana', 'Teixeira', 'Araújo', 'Correia', 'Pinto', 'Cavalcanti',
    'Monteiro', 'Moura', 'Batista', 'Campos', 'Castro', 'Duarte', 'Azevedo', 'Rezende', 'Siqueira', 'Tavares',
    'Farias']),
('ddd', array['11', '11', '11', '11', '11', '11', '11', '11', '11', '11', '11', '11', '19', '13', '12', '15', '21',
    '31', '41', '61']),
('email_domain', array['gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'hotmail.com', 'hotmail.com',
    'outlook.com', 'yahoo.com.br', 'uol.com.br', 'bol.com.br', 'icloud.com', 'terra.com.br']),
('street', array['Rua Harmonia', 'Rua Augusta', 'Avenida Paulista', 'Rua Teodoro Sampaio', 'Rua dos Pinheiros',
    'Alameda Santos', 'Rua Cardeal Arcoverde', 'Avenida Ibirapuera', 'Rua Vergueiro', 'Rua Domingos de Morais',
    'Rua Voluntários da Pátria', 'Rua Tuiuti', 'Rua Clélia', 'Rua Turiassu', 'Rua Joaquim Floriano',
    'Avenida Rebouças', 'Rua Apinajés', 'Rua Aspicuelta', 'Rua Fradique Coutinho', 'Rua Oscar Freire',
    'Avenida Sumaré', 'Rua Cayowaá', 'Rua Itapura', 'Rua da Mooca', 'Avenida Jabaquara', 'Rua Bela Cintra']),
('neighborhood', array['Pinheiros', 'Vila Madalena', 'Moema', 'Itaim Bibi', 'Perdizes', 'Vila Mariana', 'Santana',
    'Tatuapé', 'Mooca', 'Lapa', 'Butantã', 'Brooklin', 'Jardim Paulista', 'Aclimação', 'Ipiranga', 'Saúde',
    'Bela Vista', 'Consolação', 'Liberdade', 'Pompeia', 'Vila Leopoldina', 'Campo Belo', 'Sumaré']),
('tutor_note', array['Prefere ser atendida pela Carla', 'Pede para avisar quando o pet estiver pronto',
    'Usa pet taxi', 'Cliente desde a inauguração', 'Pagamento sempre no pix', 'Tem dois cães bravos com estranhos',
    'Pediu nota fiscal com CPF', 'Mora em condomínio, avisar a portaria']),
('pet_name', array['Thor', 'Luna', 'Mel', 'Bob', 'Nina', 'Pipoca', 'Paçoca', 'Fred', 'Bidu', 'Amora', 'Belinha',
    'Toby', 'Max', 'Lola', 'Simba', 'Mia', 'Frajola', 'Tom', 'Chico', 'Pretinha', 'Bolinha', 'Mimi', 'Pandora',
    'Zeus', 'Apolo', 'Kiara', 'Meg', 'Pingo', 'Pituca', 'Scooby', 'Pérola', 'Princesa', 'Duque', 'Sansão', 'Bento',
    'Farofa', 'Cacau', 'Caramelo', 'Fumaça', 'Manchinha', 'Biscoito', 'Jade', 'Estrela', 'Nescau', 'Pudim', 'Luke',
    'Maya', 'Floquinho', 'Lupi', 'Marley', 'Bela', 'Kira', 'Tobias', 'Mingau', 'Nala', 'Oliver', 'Pepe', 'Zara',
    'Fiona', 'Hulk']),
('dog_breed', array['SRD', 'SRD', 'SRD', 'Shih Tzu', 'Shih Tzu', 'Yorkshire', 'Poodle', 'Spitz Alemão',
    'Lhasa Apso', 'Golden Retriever', 'Labrador', 'Bulldog Francês', 'Pinscher', 'Border Collie', 'Dachshund',
    'Pug', 'Beagle', 'Maltês', 'Rottweiler', 'Pastor Alemão', 'Schnauzer', 'Husky Siberiano']),
('cat_breed', array['SRD', 'SRD', 'SRD', 'SRD', 'Siamês', 'Persa', 'Maine Coon', 'Angorá', 'British Shorthair',
    'Ragdoll', 'Sphynx', 'Bengal']),
('bird_breed', array['Calopsita', 'Periquito-australiano', 'Canário', 'Agapornis', 'Papagaio-verdadeiro']),
('rabbit_breed', array['Mini Lop', 'Lionhead', 'Angorá', 'Fuzzy Lop']),
('hamster_breed', array['Sírio', 'Anão Russo', 'Roborovski']),
('reptile_breed', array['Jabuti', 'Iguana', 'Gecko-leopardo', 'Teiú']),
('allergy', array['dipirona', 'frango', 'carne bovina', 'picada de pulga', 'corante', 'clorexidina', 'penicilina',
    'perfume', 'trigo']),
('pet_note', array['Bravo com estranhos, usar focinheira', 'Tem medo de secador', 'Cardiopata, evitar sedação',
    'Muito agitado no banho', 'Idoso, manusear com cuidado', 'Diabético, insulina 2x ao dia',
    'Não gosta de outros animais', 'Adotado em feira de adoção', 'Usa colírio diário']),
('cancel_reason', array['Tutor pediu para remarcar', 'Pet doente', 'Imprevisto no trabalho', 'Chuva forte',
    'Encontrou horário em outro lugar', 'Cancelado pela clínica: veterinário indisponível', 'Sem resposta ao lembrete']),
('appt_note', array['Trazer carteira de vacinação', 'Tutor pediu perfume neutro', 'Cuidado com a pata traseira esquerda',
    'Pet taxi ida e volta', 'Usar shampoo hipoalergênico', 'Jejum de 8 horas', 'Tosa na tesoura, sem máquina',
    'Primeira vez na clínica']),
('reminder_error', array['131026: Message undeliverable', '131047: Re-engagement message',
    'Número sem WhatsApp', 'Timeout do provedor']),
('day', array['amanhã', 'na segunda-feira', 'na terça-feira', 'na quarta-feira', 'na quinta-feira',
    'na sexta-feira', 'no sábado']),
('hour', array['08:00', '08:30', '09:00', '09:30', '10:00', '10:30', '11:00', '13:00', '13:30', '14:00', '14:30',
    '15:00', '15:30', '16:00', '16:30', '17:00']),
('memory_period', array['manhã', 'tarde', 'fim de tarde', 'sábado de manhã']),
('memory_food', array['Premier', 'Golden', 'Royal Canin', 'N&D', 'Guabi Natural', 'Biofresh', 'Quatree', 'Farmina']),
('memory_temperament', array['dócil', 'agitado', 'medroso', 'bravo com estranhos', 'tranquilo no banho']),
('memory_payment', array['pix', 'cartão', 'dinheiro']),
('memory_groomer', array['Carla', 'Juliana', 'Marcos', 'Thiago']),
('memory_style', array['prefere áudio', 'prefere mensagens curtas', 'responde só à noite', 'gosta de fotos do pet']),
('memory_delivery', array['portaria 24h', 'deixar com o porteiro', 'tocar o interfone duas vezes', 'entregar após 18h']),
('memory_month', array['janeiro', 'fevereiro', 'março', 'abril', 'maio', 'junho', 'julho', 'agosto', 'setembro',
    'outubro', 'novembro', 'dezembro']);

-- Declared immutable (the table is filled once, above) so that a call with a constant name folds to a constant
-- at plan time instead of running once per row.
create function pg_temp.l(list text) returns text[]
    language sql immutable
    as $$ select items from pg_temp._lists where name = list $$;

-- ---------------------------------------------------------------------------------------------------------
-- user_profiles (5,000: 12 staff, the rest customers)
-- ---------------------------------------------------------------------------------------------------------

create temp table _u on commit drop as
select n,
       pg_temp.uid(n) as id,
       s.first_name,
       s.first_name || ' ' || case when pg_temp.r(n, 5) < 0.55
                                   then s.surnames[1 + (s.i1 + pg_temp.ri(0, 48, n, 6)) % 50] || ' '
                                   else '' end || s.surnames[s.i1] as full_name,
       s.surnames[s.i1] as surname,
       pg_temp.ucreated(n) as created_at
from generate_series(1, 5000) n
cross join lateral (
    select case when pg_temp.r(n, 1) < 0.52 then pg_temp.pick(pg_temp.l('first_f'), n, 2)
                else pg_temp.pick(pg_temp.l('first_m'), n, 3) end as first_name,
           pg_temp.l('surname') as surnames,
           pg_temp.ri(1, 50, n, 4) as i1
) s;

-- Conversations are generated here, before the users, because user_profiles.last_seen_at comes from them.
create temp table _conv on commit drop as
select c.id, c.n, c.topic, c.m, c.started_at,
       c.started_at + make_interval(secs => (c.m - 1) * 90 + floor(pg_temp.r(c.id * 100 + c.m, 83) * 60)) as last_at
from (
    select x.id, x.n, x.topic,
           greatest(2, t.len - case when pg_temp.r(x.id, 63) < 0.25 then pg_temp.ri(1, 4, x.id, 64) else 0 end) as m,
           greatest(pg_temp.at_sp(pg_temp.active_day(x.n, x.id, 61),
                                  420 + floor(pg_temp.r(x.id, 62) ^ 1.2 * 960)::integer),
                    pg_temp.ucreated(x.n) + interval '2 minutes') as started_at
    from (
        select id,
               13 + floor(4988 * pg_temp.r(id, 60) ^ 1.3)::integer as n,
               case when pg_temp.r(id, 65) < 0.40 then 'schedule'
                    when pg_temp.r(id, 65) < 0.52 then 'vaccine'
                    when pg_temp.r(id, 65) < 0.70 then 'order'
                    when pg_temp.r(id, 65) < 0.82 then 'triage'
                    when pg_temp.r(id, 65) < 0.92 then 'hours'
                    else 'complaint' end as topic
        from generate_series(1, 8000) id
        offset 0  -- keeps n a plain column, so that the helpers taking it are inlined
    ) x
    join (values ('schedule', 8), ('vaccine', 8), ('order', 8), ('triage', 10), ('hours', 6), ('complaint', 8))
        as t(topic, len) on t.topic = x.topic
) c;

insert into public.user_profiles
    (id, full_name, phone_number, email, role, preferences, whatsapp_opt_in, marketing_opt_in, is_active,
     last_seen_at, created_at, updated_at)
select u.id,
       u.full_name,
       '+55 ' || pg_temp.pick(pg_temp.l('ddd'), u.n, 8) || ' 9'
           || substr(p.d8, 1, 4) || '-' || substr(p.d8, 5, 4),
       case when pg_temp.r(u.n, 9) < 0.88 then
           translate(lower(u.first_name || '.' || u.surname), 'áàâãäéèêëíìîïóòôõöúùûüç', 'aaaaaeeeeiiiiooooouuuuc')
           || u.n || '@' || pg_temp.pick(pg_temp.l('email_domain'), u.n, 10) end,
       case when u.n <= 8 then 'staff' when u.n <= 11 then 'vet' when u.n = 12 then 'admin' else 'customer' end,
       jsonb_strip_nulls(jsonb_build_object(
           'language', 'pt-BR',
           'preferred_period', pg_temp.pick(array['manhã', 'tarde', 'qualquer'], u.n, 11),
           'preferred_payment', case when pg_temp.r(u.n, 12) < 0.6
                                     then pg_temp.pick(array['pix', 'card', 'cash'], u.n, 13) end,
           'notifications', jsonb_build_object('whatsapp', true, 'email', pg_temp.r(u.n, 14) < 0.3),
           'pet_taxi', case when pg_temp.r(u.n, 15) < 0.1 then true end)),
       pg_temp.r(u.n, 16) < 0.97,
       pg_temp.r(u.n, 17) < 0.70,
       pg_temp.r(u.n, 18) < 0.98,
       ls.last_at,
       u.created_at,
       coalesce(ls.last_at, u.created_at)
from _u u
cross join lateral (select (10000000 + (u.n * 48271 + 1234567) % 90000000)::text as d8) p
left join (select n, max(last_at) as last_at from _conv group by n) ls on ls.n = u.n
order by u.n;

-- ---------------------------------------------------------------------------------------------------------
-- tutors (~86% of customers) and pets (1 to 4 each)
-- ---------------------------------------------------------------------------------------------------------

create temp table _t on commit drop as
select row_number() over (order by n)::bigint as id, n
from generate_series(13, 5000) n
where pg_temp.r(n, 20) < 0.86;

insert into public.tutors
    (id, user_id, cpf, address_street, address_number, neighborhood, city, state, postal_code, notes,
     created_at, updated_at)
select t.id,
       pg_temp.uid(t.n),
       case when pg_temp.r(t.n, 21) < 0.75 then pg_temp.cpf(t.n) end,
       pg_temp.pick(pg_temp.l('street'), t.n, 22),
       pg_temp.ri(12, 2400, t.n, 23)::text,
       pg_temp.pick(pg_temp.l('neighborhood'), t.n, 24),
       'São Paulo', 'SP',
       '0' || pg_temp.ri(1000, 5899, t.n, 25) || '-' || lpad(pg_temp.ri(0, 999, t.n, 26)::text, 3, '0'),
       case when pg_temp.r(t.n, 27) < 0.12 then pg_temp.pick(pg_temp.l('tutor_note'), t.n, 28) end,
       pg_temp.ucreated(t.n) + make_interval(mins => pg_temp.ri(0, 600, t.n, 29)),
       pg_temp.ucreated(t.n) + make_interval(mins => pg_temp.ri(0, 600, t.n, 29))
from _t t
order by t.id;

create temp table _p on commit drop as
select row_number() over (order by t.id, j)::bigint as id, t.id as tutor_id, t.n, j
from _t t
cross join lateral generate_series(1, 1 + (pg_temp.r(t.n, 30) < 0.40)::integer + (pg_temp.r(t.n, 31) < 0.15)::integer
                                         + (pg_temp.r(t.n, 32) < 0.05)::integer) j;

alter table _p add column species text, add column name text, add column weight numeric(5,2);
update _p set species = case when pg_temp.r(id, 40) < 0.62 then 'dog'
                             when pg_temp.r(id, 40) < 0.94 then 'cat'
                             when pg_temp.r(id, 40) < 0.97 then 'bird'
                             when pg_temp.r(id, 40) < 0.985 then 'rabbit'
                             when pg_temp.r(id, 40) < 0.995 then 'hamster'
                             else 'reptile' end,
              name = pg_temp.pick(pg_temp.l('pet_name'), id, 41);
update _p set weight = round((case species
                                  when 'dog' then 2.5 + pg_temp.r(id, 42) ^ 1.6 * 38
                                  when 'cat' then 2.5 + pg_temp.r(id, 42) * 4.5
                                  when 'bird' then 0.03 + pg_temp.r(id, 42) * 0.4
                                  when 'rabbit' then 1 + pg_temp.r(id, 42) * 2.5
                                  when 'hamster' then 0.05 + pg_temp.r(id, 42) * 0.1
                                  else 0.3 + pg_temp.r(id, 42) * 4 end)::numeric, 2);

insert into public.pets
    (id, tutor_id, name, species, breed, sex, birth_date, weight_kg, neutered, allergies, notes, is_active,
     created_at, updated_at)
select p.id, p.tutor_id, p.name, p.species,
       pg_temp.pick(b.items, p.id, 43),
       pg_temp.pick(array['M', 'F'], p.id, 44),
       pg_temp.uday(p.n) - pg_temp.ri(30, case when p.species in ('dog', 'cat') then 14 * 365 else 6 * 365 end, p.id, 45),
       p.weight,
       p.species in ('dog', 'cat') and pg_temp.r(p.id, 46) < 0.55,
       case when pg_temp.r(p.id, 47) < 0.015
                then array[pg_temp.pick(pg_temp.l('allergy'), p.id, 48), pg_temp.pick(pg_temp.l('allergy'), p.id, 49)]
            when pg_temp.r(p.id, 47) < 0.08 then array[pg_temp.pick(pg_temp.l('allergy'), p.id, 48)]
            else '{}'::text[] end,
       case when pg_temp.r(p.id, 39) < 0.10 then pg_temp.pick(pg_temp.l('pet_note'), p.id, 38) end,
       pg_temp.r(p.id, 37) >= 0.02,
       pg_temp.ucreated(p.n) + make_interval(mins => 600 + p.j * 5),
       pg_temp.ucreated(p.n) + make_interval(mins => 600 + p.j * 5)
from _p p
join _lists b on b.name = p.species || '_breed'
order by p.id;

-- ---------------------------------------------------------------------------------------------------------
-- services (22) and products (~190)
-- ---------------------------------------------------------------------------------------------------------

insert into public.services (id, name, category, description, price, duration_minutes, species, requires_vet, active,
                             created_at)
select v.id, v.name, v.category, v.description, v.price, v.duration, v.species::text[], v.vet, v.active,
       pg_temp.at_sp(c.day0 - 1200 + v.id * 10, 480)
from _cfg c, (values
    (1, 'Banho - porte pequeno', 'bath', 'Banho com shampoo neutro, secagem e escovação (até 10 kg).', 60.00, 60, '{dog,cat}', false, true),
    (2, 'Banho - porte médio', 'bath', 'Banho com shampoo neutro, secagem e escovação (10 a 25 kg).', 80.00, 75, '{dog}', false, true),
    (3, 'Banho - porte grande', 'bath', 'Banho com shampoo neutro, secagem e escovação (acima de 25 kg).', 110.00, 90, '{dog}', false, true),
    (4, 'Tosa higiênica', 'grooming', 'Tosa das regiões íntimas, patas e barriga.', 45.00, 30, '{dog,cat}', false, true),
    (5, 'Banho e tosa completa', 'grooming', 'Banho, tosa na máquina ou tesoura, corte de unhas e limpeza de ouvidos.', 140.00, 120, '{dog,cat}', false, true),
    (6, 'Hidratação de pelagem', 'bath', 'Máscara hidratante aplicada após o banho.', 50.00, 30, '{dog,cat}', false, true),
    (7, 'Corte de unhas', 'other', 'Corte e lixamento das unhas.', 25.00, 15, '{dog,cat,bird,rabbit}', false, true),
    (8, 'Consulta clínica geral', 'consultation', 'Consulta com médico-veterinário clínico geral.', 180.00, 40, '{dog,cat}', true, true),
    (9, 'Consulta de retorno', 'consultation', 'Retorno em até 15 dias após a consulta, sem custo.', 0.00, 20, '{dog,cat,bird,rabbit,hamster,reptile}', true, true),
    (10, 'Consulta dermatológica', 'consultation', 'Consulta com dermatologista veterinário.', 250.00, 45, '{dog,cat}', true, true),
    (11, 'Consulta de animais exóticos', 'consultation', 'Aves, coelhos, roedores e répteis.', 220.00, 40, '{bird,rabbit,hamster,reptile}', true, true),
    (12, 'Vacina V10', 'vaccine', 'Vacina polivalente canina (cinomose, parvovirose, leptospirose...).', 120.00, 15, '{dog}', true, true),
    (13, 'Vacina antirrábica', 'vaccine', 'Vacina contra a raiva, dose anual.', 90.00, 15, '{dog,cat}', true, true),
    (14, 'Vacina V5 felina', 'vaccine', 'Vacina quíntupla felina.', 150.00, 15, '{cat}', true, true),
    (15, 'Vacina gripe canina', 'vaccine', 'Vacina contra a tosse dos canis.', 110.00, 15, '{dog}', true, true),
    (16, 'Hemograma completo', 'exam', 'Coleta de sangue e hemograma; resultado em 24 horas.', 85.00, 20, '{dog,cat,rabbit}', true, true),
    (17, 'Ultrassonografia abdominal', 'exam', 'Ultrassom abdominal com laudo.', 220.00, 40, '{dog,cat}', true, true),
    (18, 'Limpeza de tártaro', 'dental', 'Profilaxia dentária com anestesia geral.', 480.00, 120, '{dog,cat}', true, true),
    (19, 'Castração', 'surgery', 'Orquiectomia ou ovariohisterectomia, com internação de um dia.', 750.00, 180, '{dog,cat}', true, true),
    (20, 'Day care (diária)', 'daycare', 'Creche com recreação e monitoramento das 8h às 18h.', 75.00, 480, '{dog}', false, true),
    (21, 'Microchipagem', 'other', 'Aplicação de microchip e cadastro no SinPatinhas.', 120.00, 15, '{dog,cat}', true, true),
    (22, 'Banho terapêutico com ozônio', 'bath', 'Descontinuado em 2024.', 130.00, 60, '{dog}', false, false)
) as v(id, name, category, description, price, duration, species, vet, active)
order by v.id;

insert into public.products (id, sku, name, category, brand, price, cost, stock_quantity, active, created_at, updated_at)
select y.id,
       'PC-' || upper(left(y.category, 3)) || '-' || lpad(y.id::text, 4, '0'),
       y.name, y.category, y.brand, y.price,
       round(y.price * (0.55 + 0.15 * pg_temp.r(y.id, 110))::numeric, 2),
       case when pg_temp.r(y.id, 111) < 0.06 then 0 else pg_temp.ri(1, 180, y.id, 112) end,
       pg_temp.r(y.id, 113) >= 0.03,
       pg_temp.at_sp(c.day0 - pg_temp.ri(60, 900, y.id, 114), 540),
       pg_temp.at_sp(c.day0 - pg_temp.ri(1, 59, y.id, 115), 540)
from _cfg c, (select row_number() over (order by x.ord, x.name) as id, x.* from (
    select 1 as ord, 'food' as category,
           format('Ração %s %s %s %s', b.brand, sp.label, st.stage, (sp.weights)[w.wi]) as name,
           b.brand,
           round((sp.prices)[w.wi] * case when b.brand in ('Royal Canin', 'N&D', 'Farmina') then 1.35
                                          when b.brand in ('Golden', 'Quatree') then 0.85 else 1 end) - 0.10 as price
    from unnest(array['Premier', 'Golden', 'Royal Canin', 'N&D', 'Guabi Natural', 'Biofresh', 'Quatree', 'Farmina'])
             with ordinality b(brand, bi)
    cross join (values (1, 'Cães', array['1 kg', '2,5 kg', '10,1 kg', '15 kg'], array[39.9, 89.9, 239.9, 319.9]),
                       (2, 'Gatos', array['500 g', '1,5 kg', '3 kg', '7,5 kg'], array[29.9, 79.9, 139.9, 289.9]))
        as sp(si, label, weights, prices)
    cross join unnest(array['Adultos', 'Filhotes', 'Sênior', 'Light']) with ordinality st(stage, sti)
    cross join lateral (select 1 + ((b.bi + sp.si + st.sti)::integer % 4) as wi) w
    union all
    select 2, 'treats', format('%s sabor %s %s', k.kind, f.flavor, k.size), k.brand,
           k.price + (f.fi - 1) * 1.00
    from (values ('Bifinho', '60 g', 'Keldog', 9.90), ('Ossinho', '500 g', 'Dogfest', 24.90),
                 ('Sachê para gatos', '85 g', 'Whiskas', 3.90), ('Petisco dental', '7 unidades', 'Pedigree', 19.90),
                 ('Snack natural', '100 g', 'Petitos', 16.90)) as k(kind, size, brand, price)
    cross join unnest(array['carne', 'frango', 'salmão', 'fígado', 'cordeiro']) with ordinality f(flavor, fi)
    union all
    select 3, 'hygiene', h.item || ' ' || s.size, h.brand, round(h.price * s.factor) - 0.10
    from (values ('Shampoo neutro', 'Sanol', 24.9), ('Shampoo antipulgas', 'Pet Clean', 32.9),
                 ('Condicionador', 'Pet Society', 36.9), ('Perfume pet', 'Pet Society', 42.9),
                 ('Lenço umedecido', 'Petix', 14.9), ('Tapete higiênico', 'Super Secão', 49.9),
                 ('Areia sanitária', 'Pipicat', 19.9), ('Creme dental', 'Virbac', 29.9),
                 ('Limpador de ouvidos', 'Ibasa', 27.9)) as h(item, brand, price)
    cross join (values ('- embalagem padrão', 1.0), ('- embalagem econômica', 1.8)) as s(size, factor)
    union all
    select 4, 'accessories', a.item || ' tamanho ' || s.size, 'PetCare', a.price + (s.si - 1) * a.step
    from (values ('Coleira de nylon', 29.90, 5), ('Guia retrátil', 59.90, 15), ('Peitoral acolchoado', 69.90, 10),
                 ('Cama redonda', 119.90, 40), ('Comedouro inox', 24.90, 8), ('Bebedouro fonte', 149.90, 20),
                 ('Caixa de transporte', 129.90, 45), ('Roupinha de inverno', 49.90, 10)) as a(item, price, step)
    cross join unnest(array['P', 'M', 'G']) with ordinality s(size, si)
    union all
    select 5, 'toys', t.item || ' ' || s.size, t.brand, t.price + (s.si - 1) * 6
    from (values ('Bolinha de borracha', 'Chalesco', 14.90), ('Mordedor de nylon', 'Nylabone', 39.90),
                 ('Corda com nós', 'Chalesco', 22.90), ('Arranhador', 'São Pet', 89.90),
                 ('Varinha com penas', 'Chalesco', 19.90), ('Pelúcia com apito', 'Jambo', 34.90),
                 ('Brinquedo interativo', 'Kong', 79.90), ('Frisbee', 'Jambo', 24.90)) as t(item, brand, price)
    cross join unnest(array['pequeno', 'médio', 'grande']) with ordinality s(size, si)
    union all
    select 6, 'pharmacy', m.item || ' ' || w.range, m.brand, m.price + (w.wi - 1) * m.step
    from (values ('Bravecto', 'MSD', 199.90, 25), ('NexGard', 'Boehringer', 79.90, 10),
                 ('Simparic', 'Zoetis', 89.90, 12), ('Frontline Plus', 'Boehringer', 59.90, 8),
                 ('Drontal Plus', 'Elanco', 39.90, 10), ('Coleira Seresto', 'Elanco', 249.90, 30),
                 ('Advocate', 'Elanco', 89.90, 10), ('Revolution', 'Zoetis', 99.90, 10)) as m(item, brand, price, step)
    cross join unnest(array['2 a 4,5 kg', '4,5 a 10 kg', '10 a 20 kg', '20 a 40 kg']) with ordinality w(range, wi)
) x) y
order by 1;

-- ---------------------------------------------------------------------------------------------------------
-- appointments (16,000: eleven months back, five weeks ahead) and their reminders
-- ---------------------------------------------------------------------------------------------------------

create temp table _a on commit drop as
select a.id, a.pet_id, p.tutor_id, p.n, p.species, p.weight, a.x,
       -- one day within the window, not before the tutor joined, never a Sunday
       d.day + case when extract(isodow from d.day) = 7 then 1 else 0 end as day
from (
    select id, 1 + floor((select count(*) from _p) * pg_temp.r(id, 50) ^ 1.3)::bigint as pet_id,
           pg_temp.r(id, 51) as x
    from generate_series(1, 16000) id
    offset 0
) a
join _p p on p.id = a.pet_id
cross join _cfg c
cross join lateral (
    select greatest(c.day0 - 330 + floor(pg_temp.r(a.id, 52) * 365)::integer, pg_temp.uday(p.n) + 1) as day
) d;

insert into public.appointments
    (id, tutor_id, pet_id, service_id, appointment_date, duration_minutes, status, price, booked_via, notes,
     cancel_reason, created_at, updated_at)
select q.id, q.tutor_id, q.pet_id, q.service_id, q.start_at, s.duration_minutes, q.status, s.price, q.booked_via,
       case when pg_temp.r(q.id, 56) < 0.15 then pg_temp.pick(pg_temp.l('appt_note'), q.id, 57) end,
       case when q.status = 'cancelled' then pg_temp.pick(pg_temp.l('cancel_reason'), q.id, 58) end,
       q.created_at,
       case when q.start_at < q.anchor_ts then greatest(q.created_at, q.start_at + make_interval(mins => s.duration_minutes))
            else q.created_at end
from (
    select a.id, a.tutor_id, a.pet_id, c.anchor_ts,
           case
               when a.species = 'dog' then
                   case when a.x < 0.30 then case when a.weight < 10 then 1 when a.weight < 25 then 2 else 3 end
                        when a.x < 0.42 then 5 when a.x < 0.47 then 4 when a.x < 0.50 then 6 when a.x < 0.53 then 7
                        when a.x < 0.68 then 8 when a.x < 0.73 then 9 when a.x < 0.76 then 10
                        when a.x < 0.82 then 12 when a.x < 0.86 then 13 when a.x < 0.88 then 15
                        when a.x < 0.92 then 16 when a.x < 0.94 then 17 when a.x < 0.96 then 18
                        when a.x < 0.975 then 19 when a.x < 0.995 then 20 else 21 end
               when a.species = 'cat' then
                   case when a.x < 0.15 then 1 when a.x < 0.22 then 5 when a.x < 0.27 then 7 when a.x < 0.52 then 8
                        when a.x < 0.58 then 9 when a.x < 0.63 then 10 when a.x < 0.73 then 14 when a.x < 0.80 then 13
                        when a.x < 0.88 then 16 when a.x < 0.92 then 17 when a.x < 0.95 then 18 when a.x < 0.98 then 19
                        else 21 end
               else case when a.x < 0.80 then 11 else 9 end
           end as service_id,
           st.start_at,
           case when a.day < c.day0 then
                    case when pg_temp.r(a.id, 54) < 0.82 then 'done'
                         when pg_temp.r(a.id, 54) < 0.92 then 'cancelled' else 'no_show' end
                else case when pg_temp.r(a.id, 54) < 0.55 then 'scheduled'
                          when pg_temp.r(a.id, 54) < 0.93 then 'confirmed' else 'cancelled' end
           end as status,
           bv.booked_via,
           case when bv.booked_via = 'walk_in' then st.start_at - interval '10 minutes'
                else least(st.start_at - make_interval(hours => pg_temp.ri(3, 14 * 24, a.id, 59)),
                           c.anchor_ts - make_interval(mins => pg_temp.ri(30, 5 * 24 * 60, a.id, 60)))
           end as created_at
    from _a a
    cross join _cfg c
    cross join lateral (
        select pg_temp.at_sp(a.day, 480 + 30 * floor(pg_temp.r(a.id, 53)
                                                     * case when extract(isodow from a.day) = 6 then 12 else 20 end)::integer)
                   as start_at
    ) st
    cross join lateral (
        select case when pg_temp.r(a.id, 55) < 0.62 then 'whatsapp_ai'
                    when pg_temp.r(a.id, 55) < 0.80 then 'whatsapp_staff'
                    when pg_temp.r(a.id, 55) < 0.92 then 'phone' else 'walk_in' end as booked_via
    ) bv
) q
join public.services s on s.id = q.service_id
order by q.id;

insert into public.appointment_reminders
    (id, appointment_id, kind, remind_at, channel, status, sent_at, error, created_at)
select row_number() over (order by a.id, k.ord),
       a.id, k.kind, r.remind_at, r.channel,
       r.status,
       case when r.status not in ('pending', 'cancelled')
            then r.remind_at + make_interval(secs => pg_temp.ri(1, 90, a.id * 3 + k.ord, 73)) end,
       case when r.status = 'failed' then pg_temp.pick(pg_temp.l('reminder_error'), a.id, 74) end,
       a.created_at
from public.appointments a
cross join _cfg c
cross join (values ('24h', 1, interval '24 hours'), ('2h', 2, interval '2 hours')) as k(kind, ord, lead)
cross join lateral (
    select a.appointment_date - k.lead as remind_at,
           case when pg_temp.r(a.id * 3 + k.ord, 70) < 0.94 then 'whatsapp'
                when pg_temp.r(a.id * 3 + k.ord, 70) < 0.98 then 'sms' else 'email' end as channel,
           case when a.status = 'cancelled' and pg_temp.r(a.id * 3 + k.ord, 71) < 0.5 then 'cancelled'
                when a.appointment_date - k.lead >= c.anchor_ts then 'pending'
                when pg_temp.r(a.id * 3 + k.ord, 72) < 0.04 then 'failed'
                when pg_temp.r(a.id * 3 + k.ord, 72) < 0.15 then 'sent'
                when pg_temp.r(a.id * 3 + k.ord, 72) < 0.45 then 'delivered'
                else 'read' end as status
) r
where a.booked_via <> 'walk_in'
  and (k.kind = '24h' or pg_temp.r(a.id, 75) < 0.45)
  and a.appointment_date - k.lead > a.created_at
order by 1;

-- ---------------------------------------------------------------------------------------------------------
-- orders (11,000 in the last year), order_items, payments
-- ---------------------------------------------------------------------------------------------------------

create temp table _o on commit drop as
select o.id, o.n, o.created_at, o.delivery, o.x,
       case when o.x < 0.04 then 'cancelled'
            when o.x < 0.06 then 'refunded'
            when o.x < 0.075 then 'pending'           -- abandoned: generated a pix and never paid
            when o.created_at > c.anchor_ts - interval '1 day' then
                case when o.x < 0.45 then 'pending' when o.x < 0.80 or not o.delivery then 'paid' else 'shipped' end
            when o.delivery and o.created_at > c.anchor_ts - interval '2 days' then 'shipped'
            else 'delivered' end as status
from (
    select id, n,
           greatest(pg_temp.at_sp(pg_temp.active_day(n, id, 81), 480 + pg_temp.ri(0, 840, id, 82)),
                    pg_temp.ucreated(n) + interval '5 minutes') as created_at,
           pg_temp.r(id, 83) < 0.45 as delivery,
           pg_temp.r(id, 84) as x
    from (select id, 13 + floor(4988 * pg_temp.r(id, 80) ^ 1.25)::integer as n
          from generate_series(1, 11000) id
          offset 0) s
) o
cross join _cfg c;

create temp table _oi on commit drop as
select row_number() over (order by o.id, j)::bigint as id, o.id as order_id, pr.id as product_id,
       case when pr.category in ('treats', 'hygiene') then pg_temp.ri(1, 4, o.id * 8 + j, 87)
            when pr.category = 'food' then 1 + (pg_temp.r(o.id * 8 + j, 87) < 0.15)::integer
            else 1 end as quantity,
       -- prices rose about 8% over the year
       round(pr.price * (1 - 0.08 * extract(epoch from c.anchor_ts - o.created_at) / (365 * 86400))::numeric, 2)
           as unit_price
from _o o
cross join _cfg c
cross join lateral generate_series(1, 1 + (pg_temp.r(o.id, 85) < 0.55)::integer + (pg_temp.r(o.id, 85) < 0.25)::integer
                                       + (pg_temp.r(o.id, 85) < 0.10)::integer) j
join public.products pr
  on pr.id = 1 + (floor((select count(*) from public.products) * pg_temp.r(o.id, 86) ^ 1.3)::integer + (j - 1) * 37)
                 % (select count(*) from public.products);

create temp table _ot on commit drop as
select o.id, s.subtotal,
       case when pg_temp.r(o.id, 88) < 0.12 then round(s.subtotal * 0.10, 2) else 0 end as discount,
       case when o.delivery and s.subtotal < 199 then 12.90 else 0 end as fee
from _o o
join (select order_id, sum(quantity * unit_price) as subtotal from _oi group by order_id) s on s.order_id = o.id;

insert into public.orders
    (id, user_id, status, total_amount, discount_amount, delivery_method, delivery_fee, created_at, paid_at, updated_at)
select o.id, pg_temp.uid(o.n), o.status, t.subtotal - t.discount + t.fee, t.discount,
       case when o.delivery then 'delivery' else 'pickup' end, t.fee, o.created_at, pay.paid_at,
       coalesce(pay.paid_at, o.created_at) + case when o.status in ('delivered', 'refunded', 'cancelled')
                                                  then interval '3 hours' else interval '0' end
from _o o
join _ot t on t.id = o.id
cross join lateral (
    select case when o.status in ('paid', 'shipped', 'delivered', 'refunded')
                then o.created_at + make_interval(mins => pg_temp.ri(1, 40, o.id, 89)) end as paid_at
) pay
order by o.id;

insert into public.order_items (id, order_id, product_id, quantity, unit_price)
select id, order_id, product_id, quantity, unit_price from _oi order by id;

insert into public.payments
    (id, order_id, method, amount, status, installments, provider_reference, paid_at, created_at)
select row_number() over (order by p.order_id, p.attempt),
       p.order_id, p.method, p.amount, p.status,
       case when p.method = 'card' and p.amount > 150 then pg_temp.ri(1, 6, p.order_id, 93) else 1 end,
       case p.method
           when 'pix' then 'E18236120' || to_char(p.created_at at time zone 'UTC', 'YYYYMMDDHH24MI')
                           || upper(substr(md5('pix' || p.order_id || p.attempt), 1, 11))
           when 'card' then lpad(((p.order_id * 7919 + p.attempt) % 1000000000)::text, 9, '0')
       end,
       case when p.status in ('paid', 'refunded') then o.paid_at end,
       p.created_at
from (
    -- a failed card attempt before 7% of the paid orders
    select o.id as order_id, 1 as attempt, 'card' as method, o.total_amount as amount, 'failed' as status,
           o.created_at + interval '1 minute' as created_at
    from public.orders o
    where o.status in ('paid', 'shipped', 'delivered') and pg_temp.r(o.id, 90) < 0.07
    union all
    select o.id, 2,
           case when pg_temp.r(o.id, 91) < 0.55 then 'pix'
                when pg_temp.r(o.id, 91) < 0.90 or o.delivery_method = 'delivery'
                     or o.status not in ('shipped', 'delivered', 'paid') then 'card'  -- cash: paid at the counter
                else 'cash' end,
           o.total_amount,
           case o.status when 'refunded' then 'refunded' when 'pending' then 'pending'
                         when 'cancelled' then 'failed' else 'paid' end,
           o.created_at + interval '2 minutes'
    from public.orders o
    where o.status in ('paid', 'shipped', 'delivered', 'refunded')
       or (o.status = 'pending' and pg_temp.r(o.id, 92) < 0.5)
       or (o.status = 'cancelled' and pg_temp.r(o.id, 92) < 0.4)
) p
join public.orders o on o.id = p.order_id
order by 1;

-- ---------------------------------------------------------------------------------------------------------
-- conversations (8,000), messages (~58,000), context_data (1:1)
-- ---------------------------------------------------------------------------------------------------------

-- What each conversation is about: the pet, the service or product, the day and time offered.
create temp table _cx on commit drop as
select c.id, c.n, c.topic, c.m, c.started_at, c.last_at, u.first_name,
       coalesce(pet.name, 'seu pet') as pet_name,
       svc.id as service_id, svc.name as service_name,
       prod.id as product_id, prod.name as product_name,
       coalesce(case when c.topic = 'order' then prod.price end, svc.price) as price,
       pg_temp.pick(pg_temp.l('day'), c.id, 66) as dia,
       pg_temp.pick(pg_temp.l('hour'), c.id, 67) as hora,
       pg_temp.pick(pg_temp.l('hour'), c.id, 68) as hora2,
       case when c.topic = 'complaint' or (c.topic = 'triage' and pg_temp.r(c.id, 69) < 0.3)
                 or pg_temp.r(c.id, 69) < 0.05 then 'staff' else 'ai' end as handled_by
from _conv c
join _u u on u.n = c.n
left join (select distinct on (n) n, name, species, weight from _p order by n, id) pet on pet.n = c.n
left join public.services svc
       on svc.id = case
                       when c.topic = 'triage' then case when pet.species in ('dog', 'cat') then 8 else 11 end
                       when c.topic = 'schedule' and pet.species = 'cat' then (array[1, 5, 4])[pg_temp.ri(1, 3, c.id, 76)]
                       when c.topic = 'schedule' then
                           case when pg_temp.r(c.id, 76) < 0.6
                                then case when pet.weight < 10 then 1 when pet.weight < 25 then 2 else 3 end
                                else (array[5, 4, 6])[pg_temp.ri(1, 3, c.id, 77)] end
                       when c.topic = 'vaccine' and pet.species = 'cat' then (array[14, 13])[pg_temp.ri(1, 2, c.id, 76)]
                       when c.topic = 'vaccine' then (array[12, 13, 15])[pg_temp.ri(1, 3, c.id, 76)]
                   end
left join public.products prod
       on c.topic = 'order' and prod.id = 1 + floor(pg_temp.r(c.id, 77) * 64)::integer;  -- the food line

insert into public.conversations
    (id, user_id, channel, status, handled_by, topic, started_at, last_message_at, closed_at, created_at)
select x.id, pg_temp.uid(x.n), x.channel, x.status, x.handled_by, x.topic, x.started_at, x.last_at,
       case when x.status = 'closed' then x.last_at + interval '30 minutes' end,
       x.started_at
from (
    select c.*,
           case when pg_temp.r(c.id, 78) < 0.92 then 'whatsapp'
                when pg_temp.r(c.id, 78) < 0.98 then 'instagram' else 'webchat' end as channel,
           case when c.last_at > g.anchor_ts - interval '1 day' and pg_temp.r(c.id, 79) < 0.6
                    then case when c.handled_by = 'staff' then 'waiting_human' else 'open' end
                else 'closed' end as status
    from _cx c cross join _cfg g
) x
order by x.id;

-- Message scripts: step s of a topic; odd steps come from the user, even steps from the shop.
create temp table _tpl (topic text, step integer, variants text[], primary key (topic, step)) on commit drop;
insert into _tpl values
('schedule', 1, array['Oi, bom dia!', 'Olá, boa tarde!', 'Oi, tudo bem?', 'Boa noite, vocês estão atendendo?']),
('schedule', 2, array['Olá, {nome}! Aqui é a Mel, assistente virtual da PetCare 🐾 Como posso ajudar?',
                      'Oi, {nome}! Tudo ótimo por aqui. Em que posso ajudar você e o {pet} hoje?']),
('schedule', 3, array['Queria agendar um banho para o {pet}', 'Tem horário para banho e tosa essa semana?',
                      'Preciso marcar um banho pro {pet}, ele está bem sujinho', 'Quero marcar {servico} para o {pet}']),
('schedule', 4, array['Claro! Tenho horários {dia} às {hora} ou às {hora2}. Qual fica melhor para você?',
                      'Tenho vaga {dia} às {hora}. Posso reservar?',
                      'Temos horário {dia} às {hora} e às {hora2}. Prefere algum deles?']),
('schedule', 5, array['Pode ser às {hora}', 'Às {hora} está ótimo', 'Tem algo mais cedo?', 'Pode reservar, por favor']),
('schedule', 6, array['Prontinho! {servico} do {pet} agendado para {dia} às {hora}. Valor: R$ {preco}. Vou mandar um lembrete um dia antes 😉',
                      'Agendado! {pet} está marcado {dia} às {hora} para {servico} (R$ {preco}). Se precisar remarcar é só me avisar por aqui.']),
('schedule', 7, array['Obrigada!', 'Valeu!', 'Perfeito, obrigado', 'Combinado 👍']),
('schedule', 8, array['Imagina! Nos vemos {dia} 🐶', 'Por nada, {nome}! Qualquer coisa é só chamar.']),
('vaccine', 1, array['Boa tarde', 'Oi', 'Olá!', 'Bom dia, tudo bem?']),
('vaccine', 2, array['Olá, {nome}! Aqui é a Mel, assistente virtual da PetCare 🐾 Como posso ajudar?',
                     'Oi, {nome}! Como posso ajudar?']),
('vaccine', 3, array['O {pet} precisa tomar a vacina anual, vocês têm?', 'Quanto custa a {servico}?',
                     'Vocês aplicam vacina aos sábados?', 'Qual vacina o {pet} precisa tomar agora?']),
('vaccine', 4, array['Temos sim! A {servico} custa R$ {preco} e é aplicada por um dos nossos veterinários. Quer agendar?',
                     'A aplicação é feita após uma avaliação rápida do veterinário. O valor é R$ {preco}. Posso ver um horário?',
                     'Pelo histórico do {pet}, a próxima dose é o reforço anual. Posso agendar para {dia}?']),
('vaccine', 5, array['Quero sim, pode ser {dia}?', 'Precisa levar a carteirinha?', 'Ele precisa estar em jejum?']),
('vaccine', 6, array['Não precisa de jejum. Traga a carteira de vacinação, por favor. Agendei {dia} às {hora} ✅',
                     'Sim, traga a carteirinha para registrarmos a dose. Ficou agendado {dia} às {hora}.']),
('vaccine', 7, array['Ok, obrigado!', 'Beleza', 'Obrigada 😊']),
('vaccine', 8, array['Nós que agradecemos! Até lá 🐾', 'Até lá, {nome}!']),
('order', 1, array['Oi, vocês entregam ração?', 'Boa tarde, meu pedido ainda não chegou', 'Olá, quero fazer um pedido']),
('order', 2, array['Olá, {nome}! Entregamos sim, em até 3 horas na região. Qual produto você procura?',
                   'Oi, {nome}! Vou verificar o seu pedido, só um instante.',
                   'Claro, {nome}! Me diga o que precisa que eu monto o pedido.']),
('order', 3, array['Quero a {produto}', 'Preciso da {produto} e de um tapete higiênico', 'Já paguei no pix, pode confirmar?']),
('order', 4, array['Temos em estoque! {produto} sai por R$ {preco}. Quer retirar na loja ou receber em casa?',
                   'Pagamento confirmado ✅ Seu pedido já está em separação.',
                   'Seu pedido saiu para entrega e deve chegar em até 1 hora.']),
('order', 5, array['Pode entregar', 'Vou retirar na loja', 'Aceita cartão na entrega?', 'Qual a chave pix?']),
('order', 6, array['Aceitamos pix, cartão (até 6x) e dinheiro na retirada. A entrega custa R$ 12,90 e é grátis acima de R$ 199,00.',
                   'A chave pix é o nosso CNPJ. Assim que pagar, me mande o comprovante por aqui.',
                   'Pedido confirmado! Total de R$ {preco}.']),
('order', 7, array['Paguei, segue o comprovante', 'Obrigado!', 'Ok, aguardo']),
('order', 8, array['Recebido, obrigado! 💚', 'Qualquer dúvida estou por aqui.']),
('triage', 1, array['Socorro, o {pet} está vomitando desde ontem', 'O {pet} está se coçando muito',
                    'O {pet} não quer comer', 'O {pet} está mancando da pata traseira']),
('triage', 2, array['Sinto muito, {nome}. Ele está bebendo água e fazendo xixi normalmente?',
                    'Entendo a preocupação. Há quanto tempo ele está assim?']),
('triage', 3, array['Está bebendo água sim, mas está bem quietinho', 'Desde ontem à noite', 'Começou hoje de manhã']),
('triage', 4, array['Recomendo uma consulta clínica ainda hoje. Tenho horário às {hora} com a Dra. Fernanda. Posso agendar?',
                    'Pelos sintomas, o ideal é o veterinário avaliar. Temos horário {dia} às {hora}.']),
('triage', 5, array['Pode agendar, por favor', 'Tem como ser mais cedo?', 'É muito grave?']),
('triage', 6, array['Não consigo fazer diagnóstico por aqui, mas se ele ficar prostrado ou com sangue no vômito, venha direto ao pronto atendimento.',
                    'Consegui um encaixe às {hora}. A {servico} custa R$ {preco}.']),
('triage', 7, array['Ok, estamos indo', 'Obrigada pela ajuda', 'Tá bom']),
('triage', 8, array['Estamos esperando vocês. Melhoras para o {pet} 🙏', 'Qualquer mudança me avise por aqui.']),
('triage', 9, array['Chegamos', 'Ele já está melhor, obrigada!']),
('triage', 10, array['Que ótimo! A recepção já vai chamar vocês.', 'Fico feliz! O retorno em até 15 dias é sem custo.']),
('hours', 1, array['Que horas vocês abrem no sábado?', 'Vocês abrem domingo?', 'Qual o endereço da loja?',
                   'Até que horas funciona o banho hoje?']),
('hours', 2, array['Funcionamos de segunda a sexta das 8h às 19h e aos sábados das 8h às 14h. Domingo fechado.',
                   'Estamos na Rua Harmonia, 123 - Vila Madalena. Temos estacionamento conveniado.']),
('hours', 3, array['E o pronto atendimento?', 'Tem estacionamento?', 'Obrigado']),
('hours', 4, array['O pronto atendimento veterinário funciona 24 horas, todos os dias.',
                   'Sim, no estacionamento ao lado, com 1 hora grátis.', 'Imagina! Posso ajudar em algo mais?']),
('hours', 5, array['Só isso, obrigado', 'Não, era só isso']),
('hours', 6, array['Tenha um ótimo dia, {nome}! 🐾']),
('complaint', 1, array['O banho do {pet} atrasou mais de uma hora hoje',
                       'Vim buscar o {pet} e ele estava com a orelha machucada',
                       'Fui cobrado duas vezes no cartão', 'Meu pedido veio errado']),
('complaint', 2, array['Sinto muito pelo ocorrido, {nome}. Vou transferir para nossa equipe resolver isso agora.',
                       'Peço desculpas, {nome}. Já chamei um atendente humano para te ajudar.']),
('complaint', 3, array['Ok, aguardo', 'Isso não pode acontecer de novo', 'Quero falar com o gerente']),
('complaint', 4, array['Olá, {nome}, aqui é a Carla da recepção. Já estou verificando o que aconteceu.',
                       'Oi, {nome}! Sou o Rafael, gerente da loja. Peço desculpas pelo transtorno.']),
('complaint', 5, array['Obrigado por responder', 'Quero o estorno', 'Vou esperar então']),
('complaint', 6, array['Identifiquei a cobrança duplicada e já solicitei o estorno. Em até 5 dias úteis aparece na fatura.',
                       'Vamos oferecer o próximo banho do {pet} sem custo, como pedido de desculpas.',
                       'O produto certo sai hoje para entrega, sem custo adicional.']),
('complaint', 7, array['Tudo bem, obrigada', 'Ok, vou aguardar', 'Agradeço a atenção']),
('complaint', 8, array['Nós que agradecemos a paciência. Qualquer coisa estou à disposição.']);

insert into public.messages
    (id, conversation_id, direction, sender_type, body, "timestamp", whatsapp_message_id, delivery_status, tokens_used)
select row_number() over (order by c.id, s),
       c.id,
       case when s % 2 = 1 then 'in' else 'out' end,
       case when s % 2 = 1 then 'user'
            when cv.handled_by = 'staff' and s >= 4 then 'staff' else 'ai' end,
       replace(replace(replace(replace(replace(replace(replace(replace(
           pg_temp.pick(t.variants, c.id * 100 + s, 84),
           '{nome}', c.first_name), '{pet}', c.pet_name), '{dia}', c.dia), '{hora}', c.hora),
           '{hora2}', c.hora2), '{servico}', coalesce(c.service_name, 'consulta')),
           '{preco}', coalesce(pg_temp.brl(c.price), '180,00')), '{produto}', coalesce(c.product_name, 'ração')),
       c.started_at + make_interval(secs => (s - 1) * 90 + floor(pg_temp.r(c.id * 100 + s, 83) * 60)),
       case when cv.channel = 'whatsapp'
            then 'wamid.HBgN' || upper(substr(md5('petcare-msg-' || c.id || '-' || s), 1, 24)) end,
       case when s % 2 = 1 then 'received'
            when pg_temp.r(c.id * 100 + s, 85) < 0.01 then 'failed'
            when pg_temp.r(c.id * 100 + s, 85) < 0.25 then 'delivered'
            else 'read' end,
       case when s % 2 = 0 and not (cv.handled_by = 'staff' and s >= 4)
            then pg_temp.ri(80, 650, c.id * 100 + s, 86) end
from _cx c
join public.conversations cv on cv.id = c.id
cross join lateral generate_series(1, c.m) s
join _tpl t on t.topic = c.topic and t.step = s
order by 1;

insert into public.context_data (id, conversation_id, intent, slots, summary, turn_count, created_at, updated_at)
select c.id, c.id,
       case c.topic when 'schedule' then 'schedule_appointment' when 'vaccine' then 'vaccine_info'
                    when 'order' then 'order_status' when 'triage' then 'vet_triage'
                    when 'hours' then 'business_hours' else 'complaint' end,
       jsonb_strip_nulls(case
           when c.topic in ('schedule', 'vaccine', 'triage') then jsonb_build_object(
               'pet_name', c.pet_name, 'service_id', c.service_id, 'service', c.service_name,
               'preferred_day', c.dia, 'preferred_time', c.hora, 'price', c.price, 'confirmed', c.m >= 6)
           when c.topic = 'order' then jsonb_build_object(
               'product_id', c.product_id, 'product', c.product_name, 'quoted_price', c.price,
               'delivery', pg_temp.r(c.id, 87) < 0.5)
           when c.topic = 'complaint' then jsonb_build_object('handover', true, 'sentiment', 'negative')
           else '{}'::jsonb end),
       case c.topic
           when 'schedule' then format('%s pediu %s para %s; ofereci %s às %s.', c.first_name,
                                       lower(c.service_name), c.pet_name, c.dia, c.hora)
           when 'vaccine' then format('%s perguntou sobre %s para %s.', c.first_name, c.service_name, c.pet_name)
           when 'order' then format('%s quer %s.', c.first_name, c.product_name)
           when 'triage' then format('%s relatou sintomas de %s; recomendada consulta.', c.first_name, c.pet_name)
           when 'hours' then format('%s perguntou horário e endereço.', c.first_name)
           else format('%s fez uma reclamação; transferido para a equipe.', c.first_name) end,
       c.m, c.started_at, c.last_at
from _cx c
order by c.id;

-- ---------------------------------------------------------------------------------------------------------
-- ai_memory (~8,800 facts)
-- ---------------------------------------------------------------------------------------------------------

insert into public.ai_memory (id, user_id, key, value, confidence, source, created_at, updated_at, expires_at)
select row_number() over (order by u.n, k.ord),
       u.id, k.key,
       pg_temp.pick(vl.items, u.n * 16 + k.ord, 91),
       round((0.5 + 0.5 * pg_temp.r(u.n * 16 + k.ord, 92))::numeric, 2),
       pg_temp.pick(array['conversation', 'conversation', 'conversation', 'order', 'appointment', 'staff'],
                    u.n * 16 + k.ord, 93),
       ts.created_at,
       ts.created_at + make_interval(days => pg_temp.ri(0, 60, u.n * 16 + k.ord, 95)),
       case when k.key in ('delivery_note', 'preferred_period') then ts.created_at + interval '1 year' end
from _u u
cross join (values (1, 'preferred_period', 'memory_period'), (2, 'food_brand', 'memory_food'),
                   (3, 'pet_temperament', 'memory_temperament'), (4, 'payment_preference', 'memory_payment'),
                   (5, 'preferred_groomer', 'memory_groomer'), (6, 'communication_style', 'memory_style'),
                   (7, 'delivery_note', 'memory_delivery'), (8, 'pet_birthday_month', 'memory_month'))
    as k(ord, key, list)
join _lists vl on vl.name = k.list
cross join lateral (
    select greatest(u.created_at, pg_temp.at_sp(pg_temp.active_day(u.n, u.n * 16 + k.ord, 94), 600))
               as created_at
) ts
where u.n > 12 and pg_temp.r(u.n * 16 + k.ord, 90) < 0.22
order by 1;

-- ---------------------------------------------------------------------------------------------------------
-- campaigns (24, one every two weeks; the next one scheduled, the last a draft) and recipients (~16,000)
-- ---------------------------------------------------------------------------------------------------------

insert into public.campaigns
    (id, name, message_template, audience_tags, audience_filter, status, scheduled_at, sent_at, created_at)
select v.id, v.name, v.message, v.tags::text[],
       jsonb_build_object('marketing_opt_in', true,
                          'min_days_since_last_visit', (array[0, 30, 60, 90])[pg_temp.ri(1, 4, v.id, 102)]),
       x.status,
       case when x.status <> 'draft' then x.sched end,
       case when x.status = 'sent' then x.sched + interval '5 minutes' end,
       x.sched - make_interval(days => pg_temp.ri(3, 12, v.id, 103))
from (values
    (1, 'Vacinação antirrábica em dia', '{dog,cat,vaccine}',
        'Oi, {nome}! A vacina antirrábica do {pet} está em dia? Agende pelo WhatsApp e ganhe 10% de desconto 💉'),
    (2, 'Banho em dobro', '{dog,grooming}',
        'Olá, {nome}! Nesta semana o segundo banho do {pet} sai pela metade do preço 🛁 Responda BANHO para agendar.'),
    (3, 'Semana do gato', '{cat}',
        '{nome}, é a Semana do Gato na PetCare! Consulta e V5 felina com 15% de desconto para o {pet} 🐱'),
    (4, 'Reativação: inativos 90 dias', '{inactive_90d}',
        'Sentimos sua falta, {nome}! Que tal um banho para o {pet}? Responda SIM que eu agendo.'),
    (5, 'Ração com entrega grátis', '{shop,food}',
        'Oi, {nome}! Ração com entrega grátis acima de R$ 149,00 só até domingo. Peça por aqui 🚚'),
    (6, 'Check-up sênior', '{dog,cat,senior}',
        '{nome}, pets acima de 7 anos precisam de check-up anual. Hemograma e consulta para o {pet} por R$ 229,00.'),
    (7, 'Castração com desconto', '{dog,cat}',
        'Oi, {nome}! Castração com 20% de desconto este mês. Fale com a gente para avaliar o {pet}.'),
    (8, 'Antipulgas e carrapatos', '{dog,cat,shop}',
        '{nome}, proteja o {pet} de pulgas e carrapatos: Bravecto e NexGard com 15% de desconto na loja.'),
    (9, 'Odontologia pet', '{dog,cat}',
        'Mau hálito pode ser tártaro, {nome}. Avaliação odontológica gratuita para o {pet} nesta semana 🦷'),
    (10, 'Day care: primeira diária grátis', '{dog,daycare}',
        'Oi, {nome}! A primeira diária de day care do {pet} é por nossa conta. Vagas limitadas!'),
    (11, 'Aniversário da loja', '{all}',
        'A PetCare faz aniversário e quem ganha presente é o {pet}! 10% em tudo até sábado, {nome} 🎉'),
    (12, 'Lançamento linha Farmina', '{shop,food}',
        'Chegou a linha Farmina N&D na PetCare, {nome}! Peça uma amostra para o {pet}.'),
    (13, 'Microchipagem', '{dog,cat}',
        '{nome}, microchipe o {pet} e cadastre no SinPatinhas. Aplicação por R$ 99,00 nesta semana.'),
    (14, 'Clube de assinatura de banho', '{dog,grooming}',
        'Oi, {nome}! No clube de banho o {pet} toma 4 banhos por mês pagando 3. Quer saber mais?'),
    (15, 'Pesquisa de satisfação', '{all}',
        '{nome}, como foi o último atendimento do {pet}? Responda de 1 a 5 ⭐'),
    (16, 'V10 e gripe canina', '{dog,vaccine}',
        'Oi, {nome}! Está na hora do reforço da V10 e da gripe canina do {pet}? Agende por aqui 💉'),
    (17, 'Hidratação de pelagem', '{dog,cat,grooming}',
        'Pelos ressecados, {nome}? A hidratação sai por R$ 35,00 junto com o banho do {pet}.'),
    (18, 'Reativação: inativos 180 dias', '{inactive_180d}',
        'Faz tempo que o {pet} não vem nos visitar, {nome}! Ganhe 15% no próximo banho.'),
    (19, 'Petiscos naturais', '{shop,treats}',
        '{nome}, conheça nossos petiscos naturais, sem corantes. O {pet} vai adorar 🦴'),
    (20, 'Consulta dermatológica', '{dog,cat}',
        'Coceira que não passa, {nome}? Nossa dermatologista atende às terças e quintas. Agende para o {pet}.'),
    (21, 'Feira de adoção', '{all}',
        'Neste sábado tem feira de adoção na PetCare, {nome}! Traga a família 🐶🐱'),
    (22, 'Caminhas e roupinhas', '{shop,accessories}',
        '{nome}, caminhas e roupinhas com 20% de desconto para o conforto do {pet}.'),
    (23, 'Indique um amigo', '{all}',
        'Indique um amigo, {nome}: ele ganha 10% no primeiro banho e o {pet} ganha um petisco 🎁'),
    (24, 'Exames de rotina', '{dog,cat,senior}',
        'Exames de rotina para o {pet} com condição especial, {nome}. (rascunho: revisar preço)')
) as v(id, name, tags, message)
cross join _cfg c
cross join lateral (
    select case when v.id = 24 then 'draft' when v.id = 23 then 'scheduled' when v.id = 12 then 'cancelled'
                else 'sent' end as status,
           pg_temp.at_sp(c.day0 - (23 - v.id) * 15 + case when v.id = 23 then 6 else 0 end, 600) as sched
) x
order by v.id;

insert into public.campaign_recipients
    (id, campaign_id, user_id, status, sent_at, delivered_at, read_at, replied_at, error)
select row_number() over (order by c.id, u.n),
       c.id, u.id, st.status,
       case when st.status not in ('queued', 'opted_out') then c.scheduled_at + make_interval(secs => u.n % 600) end,
       case when st.status in ('delivered', 'read', 'replied')
            then c.scheduled_at + make_interval(secs => u.n % 600 + 3) end,
       case when st.status in ('read', 'replied')
            then c.scheduled_at + make_interval(mins => pg_temp.ri(1, 600, u.n * 64 + c.id, 105)) end,
       case when st.status = 'replied'
            then c.scheduled_at + make_interval(mins => 600 + pg_temp.ri(1, 600, u.n * 64 + c.id, 106)) end,
       case when st.status = 'failed' then pg_temp.pick(pg_temp.l('reminder_error'), u.n * 64 + c.id, 107) end
from public.campaigns c
join public.user_profiles p on p.marketing_opt_in and p.role = 'customer' and p.created_at < c.scheduled_at
join _u u on u.id = p.id
cross join lateral (
    select case when c.status = 'scheduled' then 'queued'
                when pg_temp.r(u.n * 64 + c.id, 104) < 0.03 then 'failed'
                when pg_temp.r(u.n * 64 + c.id, 104) < 0.05 then 'opted_out'
                when pg_temp.r(u.n * 64 + c.id, 104) < 0.25 then 'sent'
                when pg_temp.r(u.n * 64 + c.id, 104) < 0.55 then 'delivered'
                when pg_temp.r(u.n * 64 + c.id, 104) < 0.90 then 'read'
                else 'replied' end as status
) st
where c.status in ('sent', 'scheduled')
  and pg_temp.r(u.n * 64 + c.id, 108) < 0.08 + 0.20 * pg_temp.r(c.id, 109)
order by 1;

-- ---------------------------------------------------------------------------------------------------------
-- Finish: identity sequences after the explicit ids, drop the helpers, statistics
-- ---------------------------------------------------------------------------------------------------------

do $$
declare
    t text;
begin
    foreach t in array array['tutors', 'pets', 'services', 'appointments', 'appointment_reminders', 'products',
                             'orders', 'order_items', 'payments', 'conversations', 'messages', 'context_data',
                             'ai_memory', 'campaigns', 'campaign_recipients'] loop
        execute format('select setval(pg_get_serial_sequence(%L, ''id''), coalesce((select max(id) from public.%I), 0) + 1, false)',
                       'public.' || t, t);
    end loop;
end
$$;

drop function pg_temp.l(text), pg_temp.cpf(bigint), pg_temp.brl(numeric), pg_temp.active_day(bigint, bigint, integer),
              pg_temp.first_day(bigint),
              pg_temp.ucreated(bigint), pg_temp.uday(bigint), pg_temp.at_sp(date, integer), pg_temp.day0(),
              pg_temp.uid(bigint), pg_temp.pick(text[], bigint, integer), pg_temp.ri(integer, integer, bigint, integer),
              pg_temp.r(bigint, integer);

-- The support panel's message search, as the real system runs it (imperfection 3: sequential scans).
select count(*) from public.messages where body ilike '%vacina%';
select count(*) from public.messages where body ilike '%estorno%';
select count(*) from public.messages where body ilike '%pix%';

analyze public.user_profiles, public.tutors, public.pets, public.services, public.appointments,
        public.appointment_reminders, public.products, public.orders, public.order_items, public.payments,
        public.conversations, public.messages, public.context_data, public.ai_memory, public.campaigns,
        public.campaign_recipients;
