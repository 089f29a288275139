-- Evaluation schema "energia": a regional power distribution utility (Brazil), written for the assistant's
-- evaluation (issue 14). Portuguese names, deterministic data generated in SQL (no randomness): the figures
-- depend only on the day it is loaded, because monthly bills and readings run up to the current month so that
-- "last month" / "mês passado" questions have data.
-- Covers: foreign keys, CHECK constraints, enum types, a boolean and a 0/1 flag, nullable dates with a meaning
-- ("not paid yet", "still installed", "not completed yet"), a product measure (quantity x unit price x
-- (1 - discount)), column comments, a view, an unpopulated materialized view, and a partitioned table whose
-- foreign keys are declared on the partitions only.

CREATE SCHEMA energia;
COMMENT ON SCHEMA energia IS 'Distribuidora regional de energia elétrica';

CREATE TYPE energia.classe_consumo AS ENUM ('residencial', 'comercial', 'industrial', 'rural', 'poder_publico');
CREATE TYPE energia.prioridade AS ENUM ('baixa', 'media', 'alta', 'critica');

CREATE TABLE energia.regioes (
    id integer PRIMARY KEY,
    nome text NOT NULL UNIQUE,
    uf char(2) NOT NULL CHECK (uf ~ '^[A-Z]{2}$')
);
COMMENT ON TABLE energia.regioes IS 'Regionais de distribuição da concessionária';

CREATE TABLE energia.clientes (
    id integer PRIMARY KEY,
    nome text NOT NULL,
    documento text NOT NULL UNIQUE,
    classe energia.classe_consumo NOT NULL,
    regiao_id integer NOT NULL REFERENCES energia.regioes (id),
    cidade text NOT NULL,
    tarifa_social smallint NOT NULL DEFAULT 0 CHECK (tarifa_social IN (0, 1)),
    ativo boolean NOT NULL DEFAULT true,
    data_adesao date NOT NULL,
    limite_credito numeric(10, 2)
);
COMMENT ON TABLE energia.clientes IS 'Unidades consumidoras (clientes) da distribuidora';
COMMENT ON COLUMN energia.clientes.documento IS 'CPF ou CNPJ do titular';
COMMENT ON COLUMN energia.clientes.classe IS 'Classe de consumo da ANEEL';
COMMENT ON COLUMN energia.clientes.tarifa_social IS '1 = beneficiário da tarifa social de energia (baixa renda), 0 = não';
COMMENT ON COLUMN energia.clientes.ativo IS 'false quando o contrato foi encerrado';

CREATE TABLE energia.medidores (
    id integer PRIMARY KEY,
    numero_serie text NOT NULL UNIQUE,
    cliente_id integer NOT NULL REFERENCES energia.clientes (id),
    modelo text NOT NULL,
    fase text NOT NULL CHECK (fase IN ('monofasico', 'bifasico', 'trifasico')),
    instalado_em date NOT NULL,
    retirado_em date,
    CHECK (retirado_em IS NULL OR retirado_em >= instalado_em)
);
COMMENT ON TABLE energia.medidores IS 'Medidores de energia instalados nas unidades consumidoras';
COMMENT ON COLUMN energia.medidores.retirado_em IS 'Data de retirada; NULL enquanto o medidor continua instalado';

CREATE TABLE energia.leituras (
    medidor_id integer NOT NULL,
    lido_em date NOT NULL,
    consumo_kwh numeric(10, 1) NOT NULL CHECK (consumo_kwh >= 0),
    tipo text NOT NULL CHECK (tipo IN ('real', 'estimada')),
    PRIMARY KEY (medidor_id, lido_em)
) PARTITION BY RANGE (lido_em);
COMMENT ON TABLE energia.leituras IS 'Leituras mensais dos medidores (consumo do mês em kWh), particionada por ano';
COMMENT ON COLUMN energia.leituras.tipo IS 'real = lida no local; estimada = calculada pela média quando não houve leitura';
CREATE TABLE energia.leituras_2024 PARTITION OF energia.leituras FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE energia.leituras_2025 PARTITION OF energia.leituras FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE energia.leituras_2026 PARTITION OF energia.leituras FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE energia.leituras_futuras PARTITION OF energia.leituras DEFAULT;
-- foreign keys on the partitions only (as older schemas and some migration tools leave them)
ALTER TABLE energia.leituras_2024 ADD CONSTRAINT leituras_2024_medidor_fk FOREIGN KEY (medidor_id) REFERENCES energia.medidores (id);
ALTER TABLE energia.leituras_2025 ADD CONSTRAINT leituras_2025_medidor_fk FOREIGN KEY (medidor_id) REFERENCES energia.medidores (id);
ALTER TABLE energia.leituras_2026 ADD CONSTRAINT leituras_2026_medidor_fk FOREIGN KEY (medidor_id) REFERENCES energia.medidores (id);
ALTER TABLE energia.leituras_futuras ADD CONSTRAINT leituras_futuras_medidor_fk FOREIGN KEY (medidor_id) REFERENCES energia.medidores (id);

CREATE TABLE energia.faturas (
    id integer PRIMARY KEY,
    cliente_id integer NOT NULL REFERENCES energia.clientes (id),
    competencia date NOT NULL CHECK (extract(day FROM competencia) = 1),
    emitida_em date NOT NULL,
    vencimento date NOT NULL,
    paga_em date,
    valor_total numeric(12, 2) NOT NULL DEFAULT 0,
    situacao text NOT NULL CHECK (situacao IN ('aberta', 'paga', 'cancelada', 'em_disputa')),
    UNIQUE (cliente_id, competencia)
);
COMMENT ON TABLE energia.faturas IS 'Faturas (contas de luz) mensais dos clientes';
COMMENT ON COLUMN energia.faturas.competencia IS 'Mês de referência do consumo faturado (primeiro dia do mês)';
COMMENT ON COLUMN energia.faturas.paga_em IS 'Data do pagamento; NULL enquanto a fatura não foi paga';
COMMENT ON COLUMN energia.faturas.valor_total IS 'Soma dos itens da fatura, em reais';

CREATE TABLE energia.itens_fatura (
    id integer PRIMARY KEY,
    fatura_id integer NOT NULL REFERENCES energia.faturas (id),
    descricao text NOT NULL CHECK (descricao IN ('consumo', 'iluminacao_publica', 'bandeira_tarifaria')),
    quantidade numeric(10, 2) NOT NULL CHECK (quantidade > 0),
    preco_unitario numeric(10, 4) NOT NULL CHECK (preco_unitario >= 0),
    desconto numeric(4, 3) NOT NULL DEFAULT 0 CHECK (desconto >= 0 AND desconto < 1)
);
COMMENT ON TABLE energia.itens_fatura IS 'Itens de cada fatura; valor do item = quantidade * preco_unitario * (1 - desconto)';
COMMENT ON COLUMN energia.itens_fatura.desconto IS 'Fração de desconto (0,4 = 40 %), p.ex. tarifa social';
COMMENT ON COLUMN energia.itens_fatura.preco_unitario IS 'Preço por unidade (R$/kWh no consumo)';

CREATE TABLE energia.equipes (
    id integer PRIMARY KEY,
    nome text NOT NULL UNIQUE,
    regiao_id integer NOT NULL REFERENCES energia.regioes (id),
    terceirizada boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE energia.equipes IS 'Equipes de campo (eletricistas) que atendem as ordens de serviço';
COMMENT ON COLUMN energia.equipes.terceirizada IS 'true quando a equipe é de empresa contratada';

CREATE TABLE energia.funcionarios (
    id integer PRIMARY KEY,
    nome text NOT NULL,
    equipe_id integer REFERENCES energia.equipes (id),
    cargo text NOT NULL CHECK (cargo IN ('eletricista', 'leiturista', 'tecnico', 'supervisor')),
    admitido_em date NOT NULL,
    desligado_em date,
    salario numeric(10, 2) NOT NULL CHECK (salario > 0)
);
COMMENT ON COLUMN energia.funcionarios.desligado_em IS 'Data de desligamento; NULL enquanto trabalha na empresa';

CREATE TABLE energia.ordens_servico (
    id integer PRIMARY KEY,
    cliente_id integer NOT NULL REFERENCES energia.clientes (id),
    equipe_id integer REFERENCES energia.equipes (id),
    tipo text NOT NULL CHECK (tipo IN ('ligacao_nova', 'corte', 'religacao', 'reparo', 'vistoria')),
    prioridade energia.prioridade NOT NULL,
    aberta_em timestamptz NOT NULL,
    prazo timestamptz NOT NULL,
    concluida_em timestamptz,
    CHECK (prazo > aberta_em)
);
COMMENT ON TABLE energia.ordens_servico IS 'Ordens de serviço de campo (ligação, corte, religação, reparo, vistoria)';
COMMENT ON COLUMN energia.ordens_servico.equipe_id IS 'Equipe designada; NULL enquanto não foi despachada';
COMMENT ON COLUMN energia.ordens_servico.prazo IS 'Prazo regulatório de atendimento';
COMMENT ON COLUMN energia.ordens_servico.concluida_em IS 'Conclusão do serviço; NULL enquanto está pendente';

CREATE TABLE energia.interrupcoes (
    id integer PRIMARY KEY,
    regiao_id integer NOT NULL REFERENCES energia.regioes (id),
    inicio timestamptz NOT NULL,
    fim timestamptz,
    causa text NOT NULL CHECK (causa IN ('chuva', 'vegetacao', 'falha_equipamento', 'acidente', 'manutencao_programada')),
    clientes_afetados integer NOT NULL CHECK (clientes_afetados >= 0),
    programada boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE energia.interrupcoes IS 'Interrupções (quedas de energia) por regional';
COMMENT ON COLUMN energia.interrupcoes.fim IS 'Restabelecimento; NULL enquanto a energia não voltou';

CREATE VIEW energia.vw_faturas_em_aberto AS
SELECT f.id, f.cliente_id, c.nome, f.competencia, f.vencimento, f.valor_total
FROM energia.faturas f JOIN energia.clientes c ON c.id = f.cliente_id
WHERE f.paga_em IS NULL AND f.situacao <> 'cancelada';
COMMENT ON VIEW energia.vw_faturas_em_aberto IS 'Faturas não pagas (exceto canceladas)';

CREATE MATERIALIZED VIEW energia.mv_consumo_mensal AS
SELECT c.regiao_id, date_trunc('month', l.lido_em)::date AS mes, sum(l.consumo_kwh) AS consumo_kwh
FROM energia.leituras l JOIN energia.medidores m ON m.id = l.medidor_id JOIN energia.clientes c ON c.id = m.cliente_id
GROUP BY 1, 2
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW energia.mv_consumo_mensal IS 'Consumo mensal por regional (atualizada pelo job noturno)';

-- ------------------------------------------------------------------------------------------------
-- Data (deterministic)
-- ------------------------------------------------------------------------------------------------

INSERT INTO energia.regioes VALUES
    (1, 'Metropolitana', 'PE'), (2, 'Agreste', 'PE'), (3, 'Sertão', 'PE'), (4, 'Zona da Mata', 'PE'), (5, 'Litoral Norte', 'PB');

INSERT INTO energia.clientes
SELECT i,
       (ARRAY['Ana','Bruno','Carla','Diego','Elisa','Fábio','Gabriela','Heitor','Isabela','João','Karina','Lucas',
              'Marina','Nelson','Olívia','Paulo','Quitéria','Rafael','Sofia','Tiago'])[1 + (i - 1) % 20]
       || ' ' ||
       (ARRAY['Silva','Souza','Oliveira','Santos','Lima','Pereira','Costa','Almeida','Barbosa','Cavalcanti',
              'Araújo','Melo','Ribeiro','Rocha','Freitas'])[1 + (10 * ((i - 1) / 20) + (i - 1) % 20) % 15],
       lpad((i * 7919 % 100000)::text, 5, '0') || '.' || lpad(i::text, 3, '0') || '-00',
       CASE WHEN i % 23 = 0 THEN 'poder_publico'
            WHEN i % 10 IN (6, 7) THEN 'comercial'
            WHEN i % 10 = 8 THEN 'industrial'
            WHEN i % 10 = 9 THEN 'rural'
            ELSE 'residencial' END::energia.classe_consumo,
       1 + i % 5,
       (ARRAY['Recife','Olinda','Caruaru','Garanhuns','Petrolina','Serra Talhada','Palmares','Vitória de Santo Antão',
              'João Pessoa','Cabedelo'])[1 + 2 * (i % 5) + (i / 5) % 2],
       CASE WHEN i % 10 NOT IN (6, 7, 8, 9) AND i % 23 <> 0 AND i % 4 = 0 THEN 1 ELSE 0 END,
       i % 13 <> 0,
       date '2015-01-01' + (i * 97 % 3000),
       CASE WHEN i % 6 = 0 THEN NULL ELSE (200 + i * 37 % 800)::numeric END
FROM generate_series(1, 60) AS i;

INSERT INTO energia.medidores
SELECT i, 'MED-' || lpad(i::text, 5, '0'), i,
       (ARRAY['Landis E34A','Nansen Spectrum','Elster A1052','ELO 2113'])[1 + i % 4],
       CASE WHEN i % 10 IN (8, 9) THEN 'trifasico' WHEN i % 10 IN (6, 7) THEN 'bifasico' ELSE 'monofasico' END,
       c.data_adesao,
       CASE WHEN i % 5 = 0 THEN date '2024-06-15' + (i * 11 % 300) END
FROM generate_series(1, 60) AS i JOIN energia.clientes c ON c.id = i;
-- replacements for the removed meters
INSERT INTO energia.medidores
SELECT 60 + i / 5, 'MED-' || lpad((60 + i / 5)::text, 5, '0'), i, 'Nansen Spectrum', m.fase, m.retirado_em, NULL
FROM generate_series(5, 60, 5) AS i JOIN energia.medidores m ON m.id = i;

INSERT INTO energia.leituras
SELECT m.id, d.mes + (9 + m.id % 12),
       round(((80 + (m.id * 37 + d.n * 13) % 400)
              * CASE c.classe WHEN 'industrial' THEN 12 WHEN 'comercial' THEN 4 WHEN 'rural' THEN 2 WHEN 'poder_publico' THEN 6 ELSE 1 END
              * (1 + 0.15 * ((d.n + m.id) % 3)))::numeric, 1),
       CASE WHEN (m.id + d.n) % 9 = 0 THEN 'estimada' ELSE 'real' END
FROM energia.medidores m
JOIN energia.clientes c ON c.id = m.cliente_id
CROSS JOIN LATERAL (
    SELECT g::date AS mes, row_number() OVER (ORDER BY g) AS n
    FROM generate_series(date '2024-01-01', date_trunc('month', current_date), interval '1 month') AS g
) d
WHERE d.mes + (9 + m.id % 12) >= m.instalado_em
  AND (m.retirado_em IS NULL OR d.mes + (9 + m.id % 12) < m.retirado_em)
  AND d.mes + (9 + m.id % 12) <= current_date;

-- one bill per customer and month, from January 2024 to last month
INSERT INTO energia.faturas (id, cliente_id, competencia, emitida_em, vencimento, paga_em, valor_total, situacao)
SELECT row_number() OVER (ORDER BY g.mes, c.id),
       c.id, g.mes,
       least(g.mes + interval '1 month' + interval '2 days', current_date)::date,
       (g.mes + interval '1 month' + interval '17 days')::date,
       NULL, 0, 'aberta'
FROM energia.clientes c
CROSS JOIN generate_series(date '2024-01-01', date_trunc('month', current_date) - interval '1 month', interval '1 month') AS g(mes);

UPDATE energia.faturas f SET
    situacao = CASE
        WHEN (f.cliente_id * 31 + extract(month FROM f.competencia)::int * 7 + extract(year FROM f.competencia)::int) % 97 = 0 THEN 'cancelada'
        WHEN f.cliente_id % 17 = 0 AND f.competencia >= date '2024-12-01' AND f.competencia < date '2025-12-01' THEN 'aberta'
        WHEN f.competencia = date_trunc('month', current_date) - interval '1 month' AND f.cliente_id % 3 = 0 THEN 'aberta'
        WHEN (f.cliente_id + f.id) % 53 = 0 THEN 'em_disputa'
        ELSE 'paga' END;
UPDATE energia.faturas f SET
    paga_em = least(f.vencimento - 6 + (f.cliente_id * 5 + f.id) % 13, current_date)
WHERE f.situacao = 'paga';

INSERT INTO energia.itens_fatura (id, fatura_id, descricao, quantidade, preco_unitario, desconto)
SELECT row_number() OVER (ORDER BY f.id, x.k), f.id, x.descricao, x.quantidade, x.preco, x.desconto
FROM energia.faturas f
JOIN energia.clientes c ON c.id = f.cliente_id
CROSS JOIN LATERAL (
    SELECT coalesce(sum(l.consumo_kwh), 0) + 30 AS kwh
    FROM energia.leituras l JOIN energia.medidores m ON m.id = l.medidor_id
    WHERE m.cliente_id = f.cliente_id AND l.lido_em >= f.competencia AND l.lido_em < f.competencia + interval '1 month'
) s
CROSS JOIN LATERAL (VALUES
    (1, 'consumo', s.kwh,
        CASE c.classe WHEN 'residencial' THEN 0.7812 WHEN 'comercial' THEN 0.7145 WHEN 'industrial' THEN 0.6230
                      WHEN 'rural' THEN 0.5520 ELSE 0.6910 END::numeric,
        CASE WHEN c.tarifa_social = 1 THEN 0.4 ELSE 0 END::numeric),
    (2, 'iluminacao_publica', 1::numeric, 18.50::numeric, 0::numeric),
    (3, 'bandeira_tarifaria', round(s.kwh / 100, 2), 2.9890::numeric, 0::numeric)
) AS x(k, descricao, quantidade, preco, desconto)
WHERE x.k <> 3 OR extract(month FROM f.competencia)::int IN (6, 7, 8, 9, 10);

UPDATE energia.faturas f SET valor_total = t.total
FROM (SELECT fatura_id, round(sum(quantidade * preco_unitario * (1 - desconto)), 2) AS total
      FROM energia.itens_fatura GROUP BY fatura_id) t
WHERE t.fatura_id = f.id;

INSERT INTO energia.equipes VALUES
    (1, 'Equipe Recife Centro', 1, false), (2, 'Equipe Caruaru', 2, false), (3, 'Equipe Petrolina', 3, false),
    (4, 'Equipe Palmares', 4, false), (5, 'Equipe João Pessoa', 5, false), (6, 'Eletro Serviços Ltda', 1, true),
    (7, 'Linha Viva Engenharia', 2, true), (8, 'Equipe Olinda', 1, false);

INSERT INTO energia.funcionarios
SELECT i,
       (ARRAY['Antônio','Beatriz','Cícero','Daniela','Edson','Francisca','Geraldo','Helena','Ivan','Josefa'])[1 + (i - 1) % 10]
       || ' ' || (ARRAY['Nascimento','Ferreira','Gomes'])[1 + (i - 1) / 10],
       1 + i % 8,
       (ARRAY['eletricista','eletricista','leiturista','tecnico','eletricista','supervisor'])[1 + i % 6],
       date '2010-03-01' + (i * 211 % 5000),
       CASE WHEN i % 7 = 0 THEN date '2024-01-31' + (i * 13 % 600) END,
       2800 + (i * 373 % 4200)
FROM generate_series(1, 30) AS i;

INSERT INTO energia.ordens_servico
SELECT i,
       1 + (i * 7) % 50,
       CASE WHEN i % 11 = 0 THEN NULL ELSE 1 + (i * 3) % 8 END,
       (ARRAY['ligacao_nova','corte','religacao','reparo','reparo','vistoria'])[1 + i % 6],
       (ARRAY['baixa','media','media','alta','critica'])[1 + (i * 7) % 5]::energia.prioridade,
       a.aberta_em,
       a.aberta_em + CASE (ARRAY['baixa','media','media','alta','critica'])[1 + (i * 7) % 5]
                         WHEN 'critica' THEN interval '4 hours' WHEN 'alta' THEN interval '24 hours'
                         WHEN 'media' THEN interval '72 hours' ELSE interval '168 hours' END,
       CASE WHEN i % 9 = 0 OR (i % 11 = 0) THEN NULL ELSE a.aberta_em + (1 + (i * 13) % 200) * interval '1 hour' END
FROM generate_series(1, 150) AS i
CROSS JOIN LATERAL (SELECT (current_date - (i * 5 % 700))::timestamptz + (i * 37 % 600) * interval '1 minute' + interval '7 hours' AS aberta_em) a;

INSERT INTO energia.interrupcoes
SELECT i,
       (ARRAY[1, 1, 1, 1, 2, 2, 2, 3, 3, 4])[1 + i % 10],
       timestamptz '2024-01-03 14:00-03' + i * interval '19 days' + (i * 53 % 700) * interval '1 minute',
       CASE WHEN i >= 39 THEN NULL ELSE timestamptz '2024-01-03 14:00-03' + i * interval '19 days'
            + (i * 53 % 700) * interval '1 minute' + (20 + i * 29 % 400) * interval '1 minute' END,
       (ARRAY['chuva','vegetacao','falha_equipamento','acidente','manutencao_programada','chuva','vegetacao'])[1 + i % 7],
       50 + (i * 389 % 4000),
       (ARRAY['chuva','vegetacao','falha_equipamento','acidente','manutencao_programada','chuva','vegetacao'])[1 + i % 7]
           = 'manutencao_programada'
FROM generate_series(1, 40) AS i;

ANALYZE;
