-- Held-out evaluation schema "rh": human resources and payroll of a mid-sized Brazilian company,
-- Brazilian Portuguese names, schema rh. Deterministic data (generate_series + arithmetic, no random()),
-- payroll 2021-01 .. 2024-12 (data snapshot taken at 2024-12-15: the 2024-12 payroll is still open).
-- Features: self FK (funcionarios.gestor_id; avaliacoes_desempenho.avaliador_id also -> funcionarios), CHECK with closed sets
-- (funcionarios.tipo_contrato, cargos.nivel, ferias.status, ...), boolean flags (funcionarios.sindicalizado,
-- treinamentos.obrigatorio, ferias.abono_pecuniario), a 0/1 smallint flag (funcionarios.trabalho_remoto),
-- nullable date (funcionarios.data_desligamento), measures (salario_base, holerites.horas_extras *
-- valor_hora_extra, valor_bruto), many-to-many link tables (funcionario_beneficios, funcionario_treinamentos),
-- one view (vw_quadro_atual). Table comments on some tables; a single column comment.

CREATE SCHEMA rh;

CREATE TABLE rh.departamentos (
    id integer PRIMARY KEY,
    nome varchar(60) NOT NULL UNIQUE,
    sigla varchar(8) NOT NULL UNIQUE,
    centro_custo varchar(10) NOT NULL,
    orcamento_anual numeric(14, 2)
);
COMMENT ON TABLE rh.departamentos IS 'Áreas/departamentos da empresa';

CREATE TABLE rh.cargos (
    id integer PRIMARY KEY,
    titulo varchar(60) NOT NULL UNIQUE,
    nivel varchar(12) NOT NULL CHECK (nivel IN ('estagio', 'junior', 'pleno', 'senior', 'gestao')),
    cbo varchar(7),
    faixa_salarial_min numeric(10, 2) NOT NULL,
    faixa_salarial_max numeric(10, 2) NOT NULL,
    CHECK (faixa_salarial_max >= faixa_salarial_min)
);

CREATE TABLE rh.funcionarios (
    id integer PRIMARY KEY,
    matricula varchar(8) NOT NULL UNIQUE,
    nome varchar(80) NOT NULL,
    cpf char(11) NOT NULL UNIQUE,
    email varchar(120) NOT NULL UNIQUE,
    data_nascimento date NOT NULL,
    data_admissao date NOT NULL,
    data_desligamento date,
    motivo_desligamento varchar(20)
        CHECK (motivo_desligamento IN ('pedido_demissao', 'sem_justa_causa', 'justa_causa', 'fim_contrato', 'acordo')),
    tipo_contrato varchar(12) NOT NULL CHECK (tipo_contrato IN ('clt', 'pj', 'estagio', 'temporario')),
    cargo_id integer NOT NULL REFERENCES rh.cargos (id),
    departamento_id integer NOT NULL REFERENCES rh.departamentos (id),
    gestor_id integer REFERENCES rh.funcionarios (id),
    salario_base numeric(10, 2) NOT NULL CHECK (salario_base > 0),
    jornada_semanal smallint NOT NULL DEFAULT 44,
    sindicalizado boolean NOT NULL DEFAULT false,
    trabalho_remoto smallint NOT NULL DEFAULT 0 CHECK (trabalho_remoto IN (0, 1)),
    CHECK (data_desligamento IS NULL OR data_desligamento >= data_admissao)
);
COMMENT ON TABLE rh.funcionarios IS 'Cadastro de colaboradores (CLT, PJ, estagiários e temporários); data_desligamento fica nula enquanto a pessoa está na empresa';
COMMENT ON COLUMN rh.funcionarios.trabalho_remoto IS '1 = home office, 0 = presencial';

CREATE TABLE rh.folhas_pagamento (
    id integer PRIMARY KEY,
    competencia date NOT NULL UNIQUE CHECK (extract(DAY FROM competencia) = 1),
    data_pagamento date,
    status varchar(10) NOT NULL CHECK (status IN ('aberta', 'fechada', 'paga'))
);
COMMENT ON TABLE rh.folhas_pagamento IS 'Folha mensal: uma linha por competência';

CREATE TABLE rh.holerites (
    id integer PRIMARY KEY,
    folha_id integer NOT NULL REFERENCES rh.folhas_pagamento (id),
    funcionario_id integer NOT NULL REFERENCES rh.funcionarios (id),
    salario_base numeric(10, 2) NOT NULL,
    horas_extras numeric(5, 1) NOT NULL DEFAULT 0,
    valor_hora_extra numeric(8, 2) NOT NULL,
    valor_bruto numeric(10, 2) NOT NULL,
    descontos numeric(10, 2) NOT NULL DEFAULT 0,
    valor_liquido numeric(10, 2) NOT NULL,
    UNIQUE (folha_id, funcionario_id)
);
COMMENT ON TABLE rh.holerites IS 'Contracheque de cada funcionário em cada folha (PJ não recebe holerite)';

CREATE TABLE rh.ferias (
    id integer PRIMARY KEY,
    funcionario_id integer NOT NULL REFERENCES rh.funcionarios (id),
    data_inicio date NOT NULL,
    data_fim date NOT NULL,
    dias smallint NOT NULL CHECK (dias BETWEEN 5 AND 30),
    abono_pecuniario boolean NOT NULL DEFAULT false,
    status varchar(12) NOT NULL CHECK (status IN ('programada', 'concluida', 'cancelada')),
    CHECK (data_fim >= data_inicio)
);

CREATE TABLE rh.beneficios (
    id integer PRIMARY KEY,
    nome varchar(60) NOT NULL UNIQUE,
    categoria varchar(12) NOT NULL CHECK (categoria IN ('saude', 'alimentacao', 'transporte', 'educacao', 'bem_estar', 'seguro')),
    fornecedor varchar(60),
    custo_mensal numeric(8, 2) NOT NULL
);
COMMENT ON TABLE rh.beneficios IS 'Catálogo de benefícios oferecidos';

CREATE TABLE rh.funcionario_beneficios (
    funcionario_id integer NOT NULL REFERENCES rh.funcionarios (id),
    beneficio_id integer NOT NULL REFERENCES rh.beneficios (id),
    data_adesao date NOT NULL,
    data_cancelamento date,
    PRIMARY KEY (funcionario_id, beneficio_id)
);

CREATE TABLE rh.avaliacoes_desempenho (
    id integer PRIMARY KEY,
    funcionario_id integer NOT NULL REFERENCES rh.funcionarios (id),
    avaliador_id integer NOT NULL REFERENCES rh.funcionarios (id),
    ciclo smallint NOT NULL,
    nota numeric(2, 1) NOT NULL CHECK (nota BETWEEN 1 AND 5),
    data_avaliacao date NOT NULL,
    UNIQUE (funcionario_id, ciclo)
);
COMMENT ON TABLE rh.avaliacoes_desempenho IS 'Avaliação anual de desempenho (ciclo = ano), nota de 1 a 5';

CREATE TABLE rh.treinamentos (
    id integer PRIMARY KEY,
    titulo varchar(80) NOT NULL,
    modalidade varchar(10) NOT NULL CHECK (modalidade IN ('presencial', 'online', 'hibrido')),
    carga_horaria smallint NOT NULL,
    custo_por_participante numeric(8, 2) NOT NULL,
    obrigatorio boolean NOT NULL DEFAULT false,
    data_inicio date NOT NULL
);

CREATE TABLE rh.funcionario_treinamentos (
    funcionario_id integer NOT NULL REFERENCES rh.funcionarios (id),
    treinamento_id integer NOT NULL REFERENCES rh.treinamentos (id),
    data_inscricao date NOT NULL,
    data_conclusao date,
    PRIMARY KEY (funcionario_id, treinamento_id)
);

-- ---------------------------------------------------------------- data
INSERT INTO rh.departamentos VALUES
 (1, 'Diretoria', 'DIR', 'CC100', 2500000.00),
 (2, 'Recursos Humanos', 'RH', 'CC200', 1200000.00),
 (3, 'Financeiro', 'FIN', 'CC300', 1800000.00),
 (4, 'Tecnologia', 'TI', 'CC400', 6500000.00),
 (5, 'Comercial', 'COM', 'CC500', 3900000.00),
 (6, 'Operações', 'OPS', 'CC600', 4200000.00),
 (7, 'Marketing', 'MKT', 'CC700', 1500000.00),
 (8, 'Jurídico', 'JUR', 'CC800', 900000.00);

INSERT INTO rh.cargos VALUES
 (1, 'Diretor Executivo', 'gestao', '1210-05', 45000.00, 60000.00),
 (2, 'Diretor de Área', 'gestao', '1231-05', 28000.00, 40000.00),
 (3, 'Coordenador', 'gestao', '1421-05', 14000.00, 20000.00),
 (4, 'Analista Júnior', 'junior', '2521-05', 3800.00, 5200.00),
 (5, 'Analista Pleno', 'pleno', '2521-05', 5600.00, 8200.00),
 (6, 'Analista Sênior', 'senior', '2521-05', 8800.00, 12500.00),
 (7, 'Desenvolvedor Júnior', 'junior', '2124-05', 4500.00, 6500.00),
 (8, 'Desenvolvedor Pleno', 'pleno', '2124-05', 7000.00, 10500.00),
 (9, 'Desenvolvedor Sênior', 'senior', '2124-05', 11000.00, 16500.00),
 (10, 'Assistente Administrativo', 'junior', '4110-10', 2400.00, 3400.00),
 (11, 'Consultor Especialista', 'senior', '2521-10', 12000.00, 18000.00),
 (12, 'Estagiário', 'estagio', NULL, 1500.00, 2200.00),
 (13, 'Operador de Atendimento', 'junior', '4223-10', 1900.00, 2600.00),
 (14, 'Advogado', 'senior', '2410-05', 9500.00, 14000.00);

-- 180 people. 1 = CEO; 2-8 head departments 2-8; 9-22 are coordinators (two per department 2-8);
-- everyone else reports to a coordinator of their department (or to the CEO, in Diretoria).
INSERT INTO rh.funcionarios
SELECT x.n,
       'F' || lpad(x.n::text, 5, '0'),
       x.nome,
       lpad(((x.n * 7919013 + 10000000000::bigint) % 99999999999)::text, 11, '0'),
       lower(translate(split_part(x.nome, ' ', 1) || '.' || split_part(x.nome, ' ', 2),
                       'áâãàéêíóôõúçÁÉÍÓÚ', 'aaaaeeiooouuAEIOU')) || x.n || '@acmebr.com.br',
       CASE WHEN x.tipo = 'estagio' THEN date '2000-02-01' + (x.n * 37) % 1500
            ELSE date '1964-03-01' + (x.n * 211) % 12500 END,
       x.adm,
       x.desl,
       CASE WHEN x.desl IS NULL THEN NULL
            WHEN x.tipo = 'temporario' THEN 'fim_contrato'
            ELSE (ARRAY['pedido_demissao', 'sem_justa_causa', 'pedido_demissao', 'justa_causa', 'acordo'])[1 + (x.n / 9) % 5] END,
       x.tipo,
       x.cargo,
       x.dep,
       x.gestor,
       round(CASE WHEN x.n % 37 = 0 AND x.n > 22 THEN c.faixa_salarial_max * 1.08
                  ELSE c.faixa_salarial_min + (c.faixa_salarial_max - c.faixa_salarial_min) * ((x.n * 173) % 100) / 100.0 END
             + x.n % 7, 2),
       CASE x.tipo WHEN 'estagio' THEN 30 WHEN 'pj' THEN 40 ELSE 44 END,
       x.tipo = 'clt' AND x.n % 4 = 0,
       CASE WHEN x.n % 3 = 0 OR (x.tipo = 'pj' AND x.n % 2 = 1) THEN 1 ELSE 0 END
FROM (
    SELECT b.*,
           CASE WHEN b.n > 22 AND b.adm_c + 120 <= date '2024-12-15' AND (b.n % 9 = 0 OR b.tipo = 'temporario' AND b.n % 40 = 11)
                     AND date '2021-01-11' + (b.n * 131) % 1430 > b.adm_c + 120
                THEN date '2021-01-11' + (b.n * 131) % 1430 END AS desl,
           b.adm_c AS adm
    FROM (
        SELECT a.*,
               CASE WHEN a.n = 1 THEN date '2009-03-02'
                    WHEN a.n <= 8 THEN date '2010-01-04' + a.n * 97
                    WHEN a.n <= 22 THEN date '2012-02-01' + a.n * 61
                    WHEN a.tipo = 'estagio' THEN date '2022-08-01' + (a.n * 53) % 850
                    ELSE date '2012-01-02' + (a.n * 97) % 4700 END AS adm_c
        FROM (
            SELECT n,
                   (ARRAY['Ana','Bruno','Carla','Diego','Eduarda','Felipe','Gabriela','Henrique','Isabela','João',
                          'Karina','Lucas','Mariana','Nicolas','Olívia','Paulo','Queila','Rafael','Sabrina','Thiago',
                          'Úrsula','Vinícius','Wagner','Yasmin','Adriana','Bernardo','Camila','Daniel','Elisa','Fábio',
                          'Giovana','Hugo','Ingrid','Júlio','Larissa','Marcelo','Natália','Otávio','Patrícia','Renato'])[1 + (n - 1) % 40]
                   || ' ' ||
                   (ARRAY['Silva','Santos','Oliveira','Souza','Rodrigues','Ferreira','Alves','Pereira','Lima','Gomes',
                          'Costa','Ribeiro','Martins','Carvalho','Almeida','Lopes','Soares','Fernandes','Vieira','Barbosa',
                          'Rocha','Dias','Nascimento','Andrade','Moreira','Nunes','Mendes'])[1 + (n * 7) % 27] AS nome,
                   CASE WHEN n <= 22 THEN 'clt'
                        WHEN n % 10 = 3 THEN 'pj'
                        WHEN n % 15 = 7 THEN 'estagio'
                        WHEN n % 20 = 11 THEN 'temporario'
                        ELSE 'clt' END AS tipo,
                   CASE WHEN n = 1 THEN 1
                        WHEN n <= 8 THEN n
                        WHEN n <= 22 THEN 2 + (n - 9) / 2
                        ELSE (ARRAY[4, 5, 6, 4, 3, 5, 4, 6, 2, 4, 7, 5, 6, 4, 8, 3, 4, 6, 5, 1, 4, 6, 5])[1 + (n * 5) % 23] END AS dep,
                   CASE WHEN n = 1 THEN NULL
                        WHEN n <= 8 THEN 1
                        WHEN n <= 22 THEN 2 + (n - 9) / 2
                        ELSE NULL END AS gestor0
            FROM generate_series(1, 180) AS n
        ) a
    ) b
) x0
CROSS JOIN LATERAL (
    SELECT x0.n, x0.nome, x0.tipo, x0.dep, x0.adm, x0.desl,
           CASE WHEN x0.n = 1 THEN 1
                WHEN x0.n <= 8 THEN 2
                WHEN x0.n <= 22 THEN 3
                WHEN x0.tipo = 'estagio' THEN 12
                WHEN x0.tipo = 'pj' THEN 11
                WHEN x0.dep = 8 THEN 14
                WHEN x0.dep = 4 THEN 7 + x0.n % 3
                WHEN x0.dep = 6 AND x0.n % 4 = 0 THEN 13
                WHEN x0.dep = 1 THEN 10
                WHEN x0.n % 11 = 5 THEN 10
                ELSE 4 + x0.n % 3 END AS cargo,
           CASE WHEN x0.n <= 22 THEN x0.gestor0
                WHEN x0.dep = 1 THEN 1
                ELSE 9 + 2 * (x0.dep - 2) + CASE WHEN x0.n % 3 = 0 THEN 1 ELSE 0 END END AS gestor
) x
JOIN rh.cargos c ON c.id = x.cargo;

-- monthly payroll headers 2021-01 .. 2024-12
INSERT INTO rh.folhas_pagamento
SELECT row_number() OVER (ORDER BY m),
       m::date,
       CASE WHEN m < date '2024-11-01' THEN (m + interval '1 month' + interval '4 days')::date END,
       CASE WHEN m = date '2024-12-01' THEN 'aberta' WHEN m = date '2024-11-01' THEN 'fechada' ELSE 'paga' END
FROM generate_series(date '2021-01-01', date '2024-12-01', interval '1 month') AS m;

-- one payslip per non-PJ employee active in the month; salary grows ~5% a year (dissídio)
INSERT INTO rh.holerites
SELECT row_number() OVER (ORDER BY fp.competencia, f.id),
       fp.id, f.id, s.base, s.he, s.vh,
       s.base + round(s.he * s.vh, 2),
       CASE WHEN f.tipo_contrato = 'estagio' THEN 0 ELSE round((s.base + round(s.he * s.vh, 2)) * 0.18, 2) END,
       s.base + round(s.he * s.vh, 2)
         - CASE WHEN f.tipo_contrato = 'estagio' THEN 0 ELSE round((s.base + round(s.he * s.vh, 2)) * 0.18, 2) END
FROM rh.folhas_pagamento fp
JOIN rh.funcionarios f
  ON f.tipo_contrato <> 'pj'
 AND f.data_admissao < (fp.competencia + interval '1 month')::date
 AND (f.data_desligamento IS NULL OR f.data_desligamento >= fp.competencia)
CROSS JOIN LATERAL (
    SELECT round(f.salario_base * (1 - 0.05 * (2024 - extract(YEAR FROM fp.competencia)::int)), 2) AS base,
           round(f.salario_base * (1 - 0.05 * (2024 - extract(YEAR FROM fp.competencia)::int)) / 220 * 1.5, 2) AS vh,
           CASE WHEN f.tipo_contrato = 'estagio' OR f.cargo_id <= 3 THEN 0
                WHEN (f.id + fp.id) % 29 = 0 THEN 22.5 + (f.id % 5)
                ELSE ((f.id * 7 + fp.id * 3) % 13) / 2.0 END AS he
) s;

-- vacations: one per year for CLT / temporary / intern staff with at least a year in the company;
-- people with id % 13 = 0 never take vacation; status 'programada' for vacations starting after the snapshot
INSERT INTO rh.ferias
SELECT row_number() OVER (ORDER BY v.ini, v.fid),
       v.fid, v.ini, v.ini + v.dias - 1, v.dias, v.dias = 20,
       CASE WHEN v.ini > date '2024-12-15' THEN 'programada'
            WHEN v.fid % 17 = 0 AND v.ano = 2022 THEN 'cancelada'
            ELSE 'concluida' END
FROM (
    SELECT f.id AS fid, y AS ano,
           make_date(y, 1 + (f.id * 5 + y) % 12, 1 + f.id % 20) AS ini,
           CASE WHEN (f.id + y) % 4 = 0 THEN 20 ELSE 30 END AS dias,
           f.data_admissao, f.data_desligamento
    FROM rh.funcionarios f
    CROSS JOIN generate_series(2021, 2024) AS y
    WHERE f.tipo_contrato <> 'pj' AND f.id % 13 <> 0
) v
WHERE v.ini >= v.data_admissao + 365
  AND (v.data_desligamento IS NULL OR v.ini + v.dias <= v.data_desligamento);

INSERT INTO rh.beneficios VALUES
 (1, 'Plano de Saúde Bradesco Top Nacional', 'saude', 'Bradesco Saúde', 890.00),
 (2, 'Plano Odontológico', 'saude', 'OdontoPrev', 62.50),
 (3, 'Vale-Refeição', 'alimentacao', 'Alelo', 880.00),
 (4, 'Vale-Alimentação', 'alimentacao', 'Ticket', 450.00),
 (5, 'Vale-Transporte', 'transporte', 'SPTrans', 264.00),
 (6, 'Gympass', 'bem_estar', 'Wellhub', 119.90),
 (7, 'Seguro de Vida em Grupo', 'seguro', 'Porto Seguro', 38.40),
 (8, 'Auxílio-Creche', 'educacao', NULL, 650.00),
 (9, 'Auxílio Educação (graduação e pós)', 'educacao', NULL, 700.00),
 (10, 'Previdência Privada', 'seguro', 'Brasilprev', 400.00);

-- benefits 8 and 10 have no members
INSERT INTO rh.funcionario_beneficios
SELECT f.id, b.id,
       greatest(f.data_admissao, date '2019-01-01') + CASE WHEN b.id IN (6, 9) THEN 45 + f.id % 200 ELSE 0 END,
       CASE WHEN f.data_desligamento IS NOT NULL THEN f.data_desligamento
            WHEN b.id = 6 AND f.id % 10 = 1 THEN date '2023-06-30' END
FROM rh.funcionarios f
JOIN rh.beneficios b
  ON (b.id = 1 AND f.tipo_contrato IN ('clt', 'temporario'))
  OR (b.id = 2 AND f.tipo_contrato IN ('clt', 'temporario') AND f.id % 2 = 0)
  OR (b.id = 3)
  OR (b.id = 4 AND f.id % 3 = 0)
  OR (b.id = 5 AND f.trabalho_remoto = 0)
  OR (b.id = 6 AND f.id % 5 IN (1, 2))
  OR (b.id = 7 AND f.tipo_contrato = 'clt')
  OR (b.id = 9 AND f.id % 11 = 0)
WHERE f.tipo_contrato <> 'pj'
  AND greatest(f.data_admissao, date '2019-01-01') + CASE WHEN b.id IN (6, 9) THEN 45 + f.id % 200 ELSE 0 END
      <= coalesce(f.data_desligamento, date '2024-12-15');

-- yearly reviews by the direct manager (interns are not reviewed; id % 19 = 0 skipped the 2023 cycle)
INSERT INTO rh.avaliacoes_desempenho
SELECT row_number() OVER (ORDER BY y, f.id),
       f.id, f.gestor_id, y,
       1 + ((f.id * 7 + y * 3) % 41) / 10.0,
       make_date(y, 12, 1 + f.id % 10)
FROM rh.funcionarios f
CROSS JOIN generate_series(2021, 2024) AS y
WHERE f.gestor_id IS NOT NULL
  AND f.tipo_contrato <> 'estagio'
  AND f.data_admissao <= make_date(y, 6, 30)
  AND (f.data_desligamento IS NULL OR f.data_desligamento >= make_date(y, 12, 1 + f.id % 10))
  AND NOT (f.id % 19 = 0 AND y = 2023);

INSERT INTO rh.treinamentos VALUES
 (1, 'LGPD na prática', 'online', 4, 0.00, true, '2021-03-08'),
 (2, 'Código de Conduta e Compliance', 'online', 2, 0.00, true, '2022-02-14'),
 (3, 'Liderança Situacional', 'presencial', 16, 1850.00, false, '2021-09-20'),
 (4, 'Excel Avançado', 'online', 20, 390.00, false, '2022-05-02'),
 (5, 'NR-10 Segurança em Eletricidade', 'presencial', 40, 1200.00, false, '2023-04-10'),
 (6, 'Arquitetura de Software na Nuvem', 'hibrido', 32, 2600.00, false, '2023-08-07'),
 (7, 'Negociação e Vendas Consultivas', 'presencial', 12, 980.00, false, '2022-10-17'),
 (8, 'Comunicação Não Violenta', 'hibrido', 8, 450.00, false, '2023-03-13'),
 (9, 'Gestão do Tempo', 'online', 6, 150.00, false, '2024-02-19'),
 (10, 'Power BI para Negócios', 'online', 24, 520.00, false, '2024-06-03'),
 (11, 'Primeiros Socorros', 'presencial', 8, 300.00, false, '2024-09-16'),
 (12, 'Inglês para Reuniões', 'hibrido', 60, 3100.00, false, '2024-11-25');

-- enrollments: mandatory trainings for everyone active on the start date; the others by department and
-- arithmetic; training 12 has no participants yet
INSERT INTO rh.funcionario_treinamentos
SELECT f.id, t.id, t.data_inicio - 10 - f.id % 7,
       CASE WHEN t.data_inicio + 30 > date '2024-12-15' THEN NULL
            WHEN (f.id + t.id) % 9 = 0 THEN NULL
            ELSE t.data_inicio + t.carga_horaria / 4 + f.id % 5 END
FROM rh.treinamentos t
JOIN rh.funcionarios f
  ON f.data_admissao <= t.data_inicio - 20
 AND (f.data_desligamento IS NULL OR f.data_desligamento > t.data_inicio)
WHERE t.id <> 12
  AND (t.obrigatorio
   OR (t.id = 3 AND f.cargo_id IN (2, 3, 6, 9))
   OR (t.id = 4 AND f.departamento_id IN (2, 3, 5) AND f.id % 2 = 0)
   OR (t.id = 5 AND f.departamento_id = 6 AND f.id % 3 <> 0)
   OR (t.id = 6 AND f.departamento_id = 4 AND f.id % 2 = 1)
   OR (t.id = 7 AND f.departamento_id = 5)
   OR (t.id = 8 AND f.id % 4 = 1)
   OR (t.id = 9 AND f.id % 6 = 2)
   OR (t.id = 10 AND f.departamento_id IN (3, 5, 7))
   OR (t.id = 11 AND f.id % 10 = 4));

CREATE VIEW rh.vw_quadro_atual AS
SELECT f.id, f.matricula, f.nome, d.nome AS departamento, c.titulo AS cargo, c.nivel,
       g.nome AS gestor, f.tipo_contrato, f.salario_base, f.data_admissao,
       (date '2024-12-15' - f.data_admissao) / 365 AS anos_de_casa
FROM rh.funcionarios f
JOIN rh.departamentos d ON d.id = f.departamento_id
JOIN rh.cargos c ON c.id = f.cargo_id
LEFT JOIN rh.funcionarios g ON g.id = f.gestor_id
WHERE f.data_desligamento IS NULL;
COMMENT ON VIEW rh.vw_quadro_atual IS 'Quadro de pessoal ativo com departamento, cargo e gestor';

ANALYZE;
