-- Held-out schema: transportadora / logística (nomes em português), schema logistica.
-- Dados determinísticos (generate_series + aritmética), período 2021-2024.
DROP SCHEMA IF EXISTS logistica CASCADE;
CREATE SCHEMA logistica;
SET search_path = logistica;

CREATE TABLE centros_distribuicao (
    id              integer PRIMARY KEY,
    nome            text NOT NULL UNIQUE,
    cidade          text NOT NULL,
    uf              char(2) NOT NULL,
    centro_pai_id   integer REFERENCES centros_distribuicao(id),
    capacidade_m3   integer NOT NULL,
    ativo           boolean NOT NULL DEFAULT true,
    inaugurado_em   date NOT NULL
);
COMMENT ON TABLE centros_distribuicao IS 'Centros de distribuição (CDs); centro_pai_id aponta para o CD regional/nacional ao qual o CD se reporta';
COMMENT ON COLUMN centros_distribuicao.centro_pai_id IS 'CD hierarquicamente superior (NULL = CD nacional)';

CREATE TABLE clientes (
    id              integer PRIMARY KEY,
    razao_social    text NOT NULL,
    cnpj            char(18) NOT NULL UNIQUE,
    segmento        text NOT NULL CHECK (segmento IN ('varejo', 'industria', 'agronegocio', 'farmaceutico', 'ecommerce')),
    cidade          text NOT NULL,
    uf              char(2) NOT NULL,
    ativo           boolean NOT NULL DEFAULT true,
    cliente_desde   date NOT NULL
);
COMMENT ON TABLE clientes IS 'Empresas embarcadoras que contratam o frete';

CREATE TABLE motoristas (
    id              integer PRIMARY KEY,
    nome            text NOT NULL,
    cpf             char(14) NOT NULL UNIQUE,
    cnh_categoria   char(1) NOT NULL CHECK (cnh_categoria IN ('C', 'D', 'E')),
    cnh_validade    date NOT NULL,
    centro_id       integer NOT NULL REFERENCES centros_distribuicao(id),
    admitido_em     date NOT NULL,
    desligado_em    date
);
COMMENT ON TABLE motoristas IS 'Motoristas próprios; desligado_em preenchido quando o motorista sai da empresa';

CREATE TABLE veiculos (
    id              integer PRIMARY KEY,
    placa           char(7) NOT NULL UNIQUE,
    modelo          text NOT NULL,
    tipo            text NOT NULL CHECK (tipo IN ('van', 'vuc', 'toco', 'truck', 'carreta')),
    capacidade_kg   integer NOT NULL,
    ano_fabricacao  smallint NOT NULL,
    centro_id       integer NOT NULL REFERENCES centros_distribuicao(id),
    em_operacao     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE veiculos IS 'Frota própria; em_operacao = false quando o veículo está parado/baixado';

CREATE TABLE rotas (
    id                  integer PRIMARY KEY,
    codigo              text NOT NULL UNIQUE,
    centro_origem_id    integer NOT NULL REFERENCES centros_distribuicao(id),
    destino_cidade      text NOT NULL,
    destino_uf          char(2) NOT NULL,
    distancia_km        integer NOT NULL,
    prazo_padrao_dias   smallint NOT NULL
);
COMMENT ON TABLE rotas IS 'Rotas regulares a partir de um CD de origem';

CREATE TABLE motoristas_rotas (
    motorista_id        integer NOT NULL REFERENCES motoristas(id),
    rota_id             integer NOT NULL REFERENCES rotas(id),
    habilitado_desde    date NOT NULL,
    PRIMARY KEY (motorista_id, rota_id)
);
COMMENT ON TABLE motoristas_rotas IS 'Quais motoristas estão habilitados/treinados para rodar cada rota';

CREATE TABLE remessas (
    id                  integer PRIMARY KEY,
    codigo_rastreio     text NOT NULL UNIQUE,
    cliente_id          integer NOT NULL REFERENCES clientes(id),
    rota_id             integer NOT NULL REFERENCES rotas(id),
    criada_em           timestamp NOT NULL,
    peso_kg             numeric(10,2) NOT NULL,
    volumes             integer NOT NULL,
    valor_por_kg        numeric(8,2) NOT NULL,
    valor_mercadoria    numeric(12,2) NOT NULL,
    prazo_entrega       date NOT NULL,
    status              text NOT NULL CHECK (status IN ('aguardando_coleta', 'em_transito', 'entregue', 'devolvida', 'cancelada'))
);
COMMENT ON TABLE remessas IS 'Pedidos de frete; valor do frete = peso_kg * valor_por_kg';

CREATE TABLE entregas (
    id              integer PRIMARY KEY,
    remessa_id      integer NOT NULL UNIQUE REFERENCES remessas(id),
    veiculo_id      integer NOT NULL REFERENCES veiculos(id),
    motorista_id    integer NOT NULL REFERENCES motoristas(id),
    saiu_em         timestamp NOT NULL,
    entregue_em     timestamp,
    recebedor       text,
    tentativas      smallint NOT NULL DEFAULT 1
);
COMMENT ON TABLE entregas IS 'Execução da remessa: saída para entrega e baixa; entregue_em NULL = ainda não entregue';

CREATE TABLE ocorrencias (
    id              integer PRIMARY KEY,
    entrega_id      integer NOT NULL REFERENCES entregas(id),
    tipo            text NOT NULL CHECK (tipo IN ('avaria', 'extravio', 'endereco_nao_localizado', 'recusa_destinatario', 'acidente')),
    registrada_em   timestamp NOT NULL,
    descricao       text,
    valor_prejuizo  numeric(10,2) NOT NULL DEFAULT 0
);
COMMENT ON TABLE ocorrencias IS 'Ocorrências registradas durante a entrega (avarias, extravios, acidentes...)';

CREATE TABLE manutencoes (
    id              integer PRIMARY KEY,
    veiculo_id      integer NOT NULL REFERENCES veiculos(id),
    data_servico    date NOT NULL,
    tipo            text NOT NULL CHECK (tipo IN ('preventiva', 'corretiva')),
    oficina         text NOT NULL,
    km_odometro     integer NOT NULL,
    custo           numeric(10,2) NOT NULL
);

CREATE TABLE abastecimentos (
    id              integer PRIMARY KEY,
    veiculo_id      integer NOT NULL REFERENCES veiculos(id),
    motorista_id    integer NOT NULL REFERENCES motoristas(id),
    abastecido_em   timestamp NOT NULL,
    litros          numeric(7,2) NOT NULL,
    preco_litro     numeric(6,3) NOT NULL,
    km_odometro     integer NOT NULL,
    posto           text NOT NULL
);
COMMENT ON TABLE abastecimentos IS 'Abastecimentos de diesel; custo = litros * preco_litro';

-- ------------------------------------------------------------------ dados
INSERT INTO centros_distribuicao VALUES
 (1,  'CD Nacional Cajamar',        'Cajamar',        'SP', NULL, 120000, true,  '2015-03-01'),
 (2,  'CD Regional Sul',            'Curitiba',       'PR', 1,    45000,  true,  '2016-08-15'),
 (3,  'CD Regional Nordeste',       'Recife',         'PE', 1,    40000,  true,  '2017-02-10'),
 (4,  'CD Regional Sudeste',        'Contagem',       'MG', 1,    50000,  true,  '2016-05-20'),
 (5,  'CD Regional Centro-Oeste',   'Goiânia',        'GO', 1,    30000,  true,  '2018-09-01'),
 (6,  'CD Porto Alegre',            'Porto Alegre',   'RS', 2,    15000,  true,  '2019-04-01'),
 (7,  'CD Joinville',               'Joinville',      'SC', 2,    12000,  true,  '2020-01-15'),
 (8,  'CD Salvador',                'Salvador',       'BA', 3,    14000,  true,  '2019-11-01'),
 (9,  'CD Fortaleza',               'Fortaleza',      'CE', 3,    9000,   false, '2020-06-01'),
 (10, 'CD Duque de Caxias',         'Duque de Caxias','RJ', 4,    20000,  true,  '2018-03-12'),
 (11, 'CD Uberlândia',              'Uberlândia',     'MG', 4,    8000,   true,  '2021-07-01');

INSERT INTO clientes
SELECT i,
       (ARRAY['Agropecuária','Comercial','Distribuidora','Farmacêutica','Metalúrgica','Têxtil','Atacadão','Eletro','Moveleira','Alimentos'])[1 + (i-1) % 10]
         || ' ' || (ARRAY['Horizonte','Paulista','Boa Vista','Santa Clara','Três Rios','Nova Era'])[1 + (i-1) / 10] || ' Ltda',
       format('%s.%s.%s/0001-%s', lpad((10 + i)::text, 2, '0'), lpad((i * 137 % 1000)::text, 3, '0'),
              lpad((i * 311 % 1000)::text, 3, '0'), lpad((i * 37 % 100)::text, 2, '0')),
       (ARRAY['varejo','industria','agronegocio','farmaceutico','ecommerce'])[1 + (i * 3) % 5],
       (ARRAY['São Paulo','Campinas','Belo Horizonte','Uberlândia','Curitiba','Porto Alegre','Recife','Salvador','Goiânia','Rio de Janeiro','Joinville','Fortaleza'])[1 + (i * 5) % 12],
       (ARRAY['SP','SP','MG','MG','PR','RS','PE','BA','GO','RJ','SC','CE'])[1 + (i * 5) % 12],
       NOT (i % 9 = 0),
       date '2018-01-10' + (i * 41)
FROM generate_series(1, 60) i;

INSERT INTO motoristas
SELECT i,
       (ARRAY['João','Carlos','Marcos','Antônio','Paulo','Rafael','Luiz','Fernando','Ana','Juliana'])[1 + (i-1) % 10]
         || ' ' || (ARRAY['Silva','Souza','Oliveira','Pereira'])[1 + (i-1) / 10],
       format('%s.%s.%s-%s', lpad((100 + i * 7)::text, 3, '0'), lpad((i * 113 % 1000)::text, 3, '0'),
              lpad((i * 271 % 1000)::text, 3, '0'), lpad((i * 19 % 100)::text, 2, '0')),
       (ARRAY['C','D','E'])[1 + i % 3],
       date '2022-06-01' + (i * 173) % 1900,
       (ARRAY[1,2,3,4,5,6,7,8,10,11])[1 + i % 10],
       CASE WHEN i <= 36 THEN date '2017-01-09' + (i * 29) ELSE date '2024-11-04' + (i - 37) * 7 END,
       CASE WHEN i IN (5, 17) THEN date '2024-05-31' WHEN i = 29 THEN date '2022-12-16' END
FROM generate_series(1, 40) i;

INSERT INTO veiculos
SELECT i,
       'R' || chr(65 + i % 26) || chr(65 + (i * 7) % 26) || (i % 10)::text || chr(65 + (i * 3) % 26) || lpad((i * 17 % 100)::text, 2, '0'),
       CASE 1 + i % 5 WHEN 1 THEN 'Fiat Ducato' WHEN 2 THEN 'VW Delivery 9.170' WHEN 3 THEN 'Mercedes Atego 1719'
                      WHEN 4 THEN 'Volvo VM 270' ELSE 'Scania R450' END,
       (ARRAY['van','vuc','toco','truck','carreta'])[1 + i % 5],
       (ARRAY[1500, 4000, 7000, 14000, 32000])[1 + i % 5],
       2012 + (i * 3) % 12,
       (ARRAY[1,2,3,4,5,6,7,8,10,11])[1 + (i * 3) % 10],
       i NOT IN (3, 14, 22, 26)
FROM generate_series(1, 30) i;

INSERT INTO rotas VALUES
 (1,  'RT-001', 1,  'São Paulo',        'SP', 45,   2),
 (2,  'RT-002', 1,  'Campinas',         'SP', 98,   2),
 (3,  'RT-003', 1,  'Ribeirão Preto',   'SP', 330,  3),
 (4,  'RT-004', 1,  'Sorocaba',         'SP', 110,  2),
 (5,  'RT-005', 2,  'Curitiba',         'PR', 25,   2),
 (6,  'RT-006', 2,  'Londrina',         'PR', 380,  3),
 (7,  'RT-007', 6,  'Caxias do Sul',    'RS', 130,  3),
 (8,  'RT-008', 7,  'Florianópolis',    'SC', 180,  3),
 (9,  'RT-009', 3,  'João Pessoa',      'PB', 120,  3),
 (10, 'RT-010', 3,  'Maceió',           'AL', 260,  4),
 (11, 'RT-011', 8,  'Feira de Santana', 'BA', 115,  3),
 (12, 'RT-012', 8,  'Vitória da Conquista','BA', 520, 5),
 (13, 'RT-013', 4,  'Belo Horizonte',   'MG', 22,   2),
 (14, 'RT-014', 4,  'Juiz de Fora',     'MG', 280,  3),
 (15, 'RT-015', 10, 'Rio de Janeiro',   'RJ', 30,   2),
 (16, 'RT-016', 10, 'Niterói',          'RJ', 45,   2),
 (17, 'RT-017', 11, 'Uberaba',          'MG', 105,  2),
 (18, 'RT-018', 5,  'Brasília',         'DF', 210,  3),
 (19, 'RT-019', 5,  'Cuiabá',           'MT', 930,  6),
 (20, 'RT-020', 1,  'Vitória',          'ES', 880,  5),
 (21, 'RT-021', 4,  'Montes Claros',    'MG', 420,  4),
 (22, 'RT-022', 2,  'Cascavel',         'PR', 500,  4),
 (23, 'RT-023', 9,  'Teresina',         'PI', 600,  5),
 (24, 'RT-024', 5,  'Campo Grande',     'MS', 840,  6);

-- cada motorista 1..36 habilitado em 3 rotas entre 1..22 (rotas 23 e 24 sem motorista habilitado)
INSERT INTO motoristas_rotas
SELECT DISTINCT ON (m, r) m, r, date '2021-01-04' + (m * 11 + k * 30)
FROM (SELECT m, k, 1 + (m * 7 + k * 5) % 22 AS r FROM generate_series(1, 36) m, generate_series(0, 2) k) x
ORDER BY m, r, k;

INSERT INTO remessas
SELECT i,
       'BR' || lpad((i * 7919 % 100000000)::text, 8, '0') || 'LG',
       cli, rot, criada,
       round(35 + (i * 137) % 8960 + (i % 7) * 0.25, 2),
       1 + (i * 13) % 40,
       0.80 + (i % 13) * 0.15,
       round(((35 + (i * 137) % 8960) * (18 + i % 23))::numeric, 2),
       (criada::date + (SELECT prazo_padrao_dias FROM rotas WHERE id = rot)),
       CASE WHEN i > 2360 THEN CASE WHEN i % 2 = 0 THEN 'em_transito' ELSE 'aguardando_coleta' END
            WHEN i % 47 = 0 THEN 'cancelada'
            WHEN i % 61 = 0 THEN 'devolvida'
            ELSE 'entregue' END
FROM (SELECT i,
             CASE WHEN i % 50 = 0 AND i < 1100 THEN 55 + (i / 50) % 6 ELSE 1 + (i * 13) % 54 END AS cli,
             1 + (i * 5) % 22 AS rot,
             timestamp '2021-01-04 07:00' + i * interval '14 hours 34 minutes' AS criada
      FROM generate_series(1, 2400) i) g;

INSERT INTO entregas
SELECT r.id, r.id,
       CASE WHEN v IN (3, 14, 22, 26) AND r.criada_em >= '2024-07-01' THEN v + 1 ELSE v END,
       CASE WHEN m IN (5, 17) AND r.criada_em >= '2024-05-31' THEN m + 1
            WHEN m = 29 AND r.criada_em >= '2022-12-16' THEN 30 ELSE m END,
       r.criada_em + interval '4 hours',
       CASE WHEN r.status = 'entregue' THEN
            CASE WHEN (r.id % 9 = 0 OR r.id % 14 = 0) AND extract(day FROM r.prazo_entrega) BETWEEN 8 AND 26
                 THEN r.prazo_entrega + (1 + r.id % 3) + interval '10 hours' + (r.id % 50) * interval '5 minutes'
                 ELSE least(r.criada_em + interval '4 hours' + (18 + r.id % 20) * interval '1 hour',
                            r.prazo_entrega - interval '1 hour' - (r.id % 30) * interval '1 minute') END END,
       CASE WHEN r.status = 'entregue' THEN (ARRAY['Portaria','Recebimento','Almoxarifado','Gerente da loja','Conferente'])[1 + r.id % 5] END,
       CASE WHEN r.status = 'devolvida' THEN 3 WHEN r.id % 9 = 0 THEN 2 ELSE 1 END
FROM remessas r,
     LATERAL (SELECT 1 + (r.id * 7) % 28 AS v, 1 + (r.id * 11) % 36 AS m) x
WHERE r.status IN ('entregue', 'devolvida', 'em_transito');

INSERT INTO ocorrencias
SELECT row_number() OVER (ORDER BY e.id), e.id, t.tipo,
       e.saiu_em + (2 + e.id % 9) * interval '1 hour',
       CASE t.tipo WHEN 'avaria' THEN 'Carga danificada na descarga' WHEN 'extravio' THEN 'Volume não localizado na conferência'
                   WHEN 'endereco_nao_localizado' THEN 'Endereço divergente da nota' WHEN 'recusa_destinatario' THEN 'Destinatário recusou a mercadoria'
                   ELSE 'Colisão leve no trajeto' END,
       CASE WHEN t.tipo IN ('avaria', 'extravio', 'acidente') THEN round(150 + (e.id * 53) % 6200 + (e.id % 10) * 0.37, 2) ELSE 0 END
FROM entregas e,
     LATERAL (SELECT (ARRAY['avaria','extravio','endereco_nao_localizado','recusa_destinatario','acidente','avaria','endereco_nao_localizado'])[1 + (e.id / 17) % 7] AS tipo) t
WHERE e.id % 17 = 0 OR e.id % 23 = 0;

INSERT INTO manutencoes
SELECT row_number() OVER (ORDER BY d, v), v, d,
       CASE WHEN k % 3 = 0 THEN 'corretiva' ELSE 'preventiva' END,
       (ARRAY['Oficina Rodovia Sul','Auto Diesel Cajamar','Centro Automotivo Contagem','Truck Center Recife'])[1 + (v + k) % 4],
       15000 + k * 21000 + v * 900,
       CASE WHEN k % 3 = 0 THEN round(2600 + (v * k * 431) % 14000 + v * 0.5, 2)
            ELSE round(780 + v * 37 + k * 11.5, 2) END
FROM (SELECT v, k, date '2021-02-01' + (v * 13 + k * 170) AS d
      FROM generate_series(1, 30) v, generate_series(0, 7) k) g
WHERE d < date '2024-12-31' AND NOT (v IN (29, 30) AND d < date '2023-01-01');

INSERT INTO abastecimentos
SELECT i, veic,
       CASE WHEN mot IN (5, 17) AND ts >= '2024-05-31' THEN mot + 1 WHEN mot = 29 AND ts >= '2022-12-16' THEN 30 ELSE mot END,
       ts,
       round(40 + (i * 29) % 260 + (i % 4) * 0.5, 2),
       round(CASE extract(year FROM ts)::int WHEN 2021 THEN 4.55 WHEN 2022 THEN 6.35 WHEN 2023 THEN 5.80 ELSE 5.95 END
             + (i % 11) * 0.07 + (i % 3) * 0.005, 3),
       20000 + i * 180 + veic * 1000,
       (ARRAY['Posto Graal','Posto Ipiranga BR-116','Rede Petrobras Anhanguera','Posto Shell Fernão Dias','Posto Ale Régis'])[1 + i % 5]
FROM (SELECT i, 1 + (i * 3) % 28 AS veic, 1 + (i * 5) % 36 AS mot,
             timestamp '2021-01-02 06:10' + i * interval '21 hours 53 minutes' AS ts
      FROM generate_series(1, 1600) i) g;

CREATE VIEW vw_entregas_detalhe AS
SELECT e.id AS entrega_id, r.id AS remessa_id, r.codigo_rastreio, c.razao_social AS cliente,
       ro.codigo AS rota, m.nome AS motorista, v.placa,
       r.criada_em, e.saiu_em, r.prazo_entrega, e.entregue_em, r.status,
       r.peso_kg * r.valor_por_kg AS valor_frete,
       (e.entregue_em IS NOT NULL AND e.entregue_em::date > r.prazo_entrega) AS atrasada
FROM entregas e
JOIN remessas r ON r.id = e.remessa_id
JOIN clientes c ON c.id = r.cliente_id
JOIN rotas ro ON ro.id = r.rota_id
JOIN motoristas m ON m.id = e.motorista_id
JOIN veiculos v ON v.id = e.veiculo_id;
COMMENT ON VIEW vw_entregas_detalhe IS 'Entregas com cliente, rota, motorista, placa, valor do frete e indicador de atraso';

RESET search_path;
ANALYZE;
