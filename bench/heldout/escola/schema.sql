-- Held-out evaluation schema "escola": a small private university with Brazilian Portuguese names.
-- Deterministic data (generate_series + arithmetic, no random()), academic activity 2021-2024
-- (data snapshot taken at 2024-10-31: the 2024.2 semester is still running).
-- Features: self FK (disciplinas.pre_requisito_id), CHECK with a closed set (alunos.situacao,
-- matriculas.resultado, cursos.nivel/turno), boolean flags (professores.ativo,
-- curso_disciplinas.obrigatoria), nullable date (alunos.data_conclusao), a measure
-- (cursos.mensalidade * (1 - alunos.bolsa_percentual), notas.nota, disciplinas.carga_horaria),
-- a many-to-many link table (curso_disciplinas), one view (vw_boletim).
-- Table comments on some tables only; a single column comment.

CREATE SCHEMA escola;

CREATE TABLE escola.departamentos (
    id integer PRIMARY KEY,
    nome varchar(60) NOT NULL UNIQUE,
    sigla varchar(6) NOT NULL UNIQUE
);

CREATE TABLE escola.professores (
    id integer PRIMARY KEY,
    nome varchar(80) NOT NULL,
    email varchar(120) NOT NULL UNIQUE,
    titulacao varchar(12) NOT NULL CHECK (titulacao IN ('especialista', 'mestre', 'doutor')),
    departamento_id integer NOT NULL REFERENCES escola.departamentos (id),
    data_admissao date NOT NULL,
    ativo boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE escola.professores IS 'Corpo docente';

CREATE TABLE escola.cursos (
    id integer PRIMARY KEY,
    nome varchar(80) NOT NULL UNIQUE,
    nivel varchar(14) NOT NULL CHECK (nivel IN ('graduacao', 'tecnologo', 'pos_graduacao')),
    turno varchar(10) NOT NULL CHECK (turno IN ('matutino', 'noturno', 'integral')),
    duracao_semestres smallint NOT NULL,
    mensalidade numeric(10, 2) NOT NULL CHECK (mensalidade > 0),
    coordenador_id integer REFERENCES escola.professores (id)
);
COMMENT ON TABLE escola.cursos IS 'Cursos oferecidos pela instituição';

CREATE TABLE escola.disciplinas (
    id integer PRIMARY KEY,
    codigo varchar(10) NOT NULL UNIQUE,
    nome varchar(80) NOT NULL,
    carga_horaria smallint NOT NULL CHECK (carga_horaria > 0),
    creditos smallint NOT NULL,
    departamento_id integer NOT NULL REFERENCES escola.departamentos (id),
    pre_requisito_id integer REFERENCES escola.disciplinas (id)
);

CREATE TABLE escola.curso_disciplinas (
    curso_id integer NOT NULL REFERENCES escola.cursos (id),
    disciplina_id integer NOT NULL REFERENCES escola.disciplinas (id),
    semestre_ideal smallint NOT NULL,
    obrigatoria boolean NOT NULL DEFAULT true,
    PRIMARY KEY (curso_id, disciplina_id)
);
COMMENT ON TABLE escola.curso_disciplinas IS 'Grade curricular: disciplinas de cada curso';

CREATE TABLE escola.alunos (
    id integer PRIMARY KEY,
    nome varchar(100) NOT NULL,
    cpf char(11) NOT NULL UNIQUE,
    email varchar(120),
    data_nascimento date NOT NULL,
    curso_id integer NOT NULL REFERENCES escola.cursos (id),
    data_ingresso date NOT NULL,
    situacao varchar(10) NOT NULL DEFAULT 'ativa'
        CHECK (situacao IN ('ativa', 'trancada', 'concluida', 'cancelada')),
    data_conclusao date,
    bolsa_percentual numeric(3, 2) NOT NULL DEFAULT 0 CHECK (bolsa_percentual BETWEEN 0 AND 1),
    CHECK (situacao <> 'concluida' OR data_conclusao IS NOT NULL)
);
COMMENT ON TABLE escola.alunos IS 'Alunos e a situação da matrícula no curso';
COMMENT ON COLUMN escola.alunos.bolsa_percentual IS 'Desconto da bolsa como fração: 0.50 = 50%, 1.00 = bolsa integral';

CREATE TABLE escola.turmas (
    id integer PRIMARY KEY,
    codigo varchar(20) NOT NULL UNIQUE,
    disciplina_id integer NOT NULL REFERENCES escola.disciplinas (id),
    professor_id integer NOT NULL REFERENCES escola.professores (id),
    ano smallint NOT NULL,
    semestre smallint NOT NULL CHECK (semestre IN (1, 2)),
    data_inicio date NOT NULL,
    data_fim date NOT NULL,
    sala varchar(10),
    vagas smallint NOT NULL
);
COMMENT ON TABLE escola.turmas IS 'Oferta de uma disciplina em um semestre';

CREATE TABLE escola.matriculas (
    id integer PRIMARY KEY,
    aluno_id integer NOT NULL REFERENCES escola.alunos (id),
    turma_id integer NOT NULL REFERENCES escola.turmas (id),
    data_matricula date NOT NULL,
    resultado varchar(10) NOT NULL DEFAULT 'cursando'
        CHECK (resultado IN ('cursando', 'aprovado', 'reprovado', 'trancado')),
    UNIQUE (aluno_id, turma_id)
);
COMMENT ON TABLE escola.matriculas IS 'Matrícula de um aluno em uma turma';

CREATE TABLE escola.notas (
    id integer PRIMARY KEY,
    matricula_id integer NOT NULL REFERENCES escola.matriculas (id),
    avaliacao varchar(10) NOT NULL CHECK (avaliacao IN ('P1', 'P2', 'Trabalho')),
    nota numeric(4, 2) NOT NULL CHECK (nota BETWEEN 0 AND 10),
    data_avaliacao date NOT NULL,
    UNIQUE (matricula_id, avaliacao)
);

CREATE TABLE escola.frequencias (
    matricula_id integer PRIMARY KEY REFERENCES escola.matriculas (id),
    aulas_dadas smallint NOT NULL,
    faltas smallint NOT NULL DEFAULT 0,
    CHECK (faltas BETWEEN 0 AND aulas_dadas)
);

CREATE TABLE escola.mensalidades (
    id integer PRIMARY KEY,
    aluno_id integer NOT NULL REFERENCES escola.alunos (id),
    competencia date NOT NULL,
    valor numeric(10, 2) NOT NULL,
    vencimento date NOT NULL,
    pago_em timestamp,
    UNIQUE (aluno_id, competencia)
);
COMMENT ON TABLE escola.mensalidades IS 'Cobranças mensais; o valor já tem o desconto da bolsa aplicado';

-- ---------------------------------------------------------------- data
INSERT INTO escola.departamentos VALUES
 (1, 'Ciências Exatas', 'DCE'), (2, 'Ciências Humanas e Educação', 'DCH'), (3, 'Engenharia', 'DEN'),
 (4, 'Ciências da Saúde', 'DSA'), (5, 'Computação', 'DCC'), (6, 'Letras', 'DLE');

INSERT INTO escola.professores (id, nome, email, titulacao, departamento_id, data_admissao, ativo)
SELECT n,
       (ARRAY['Adriana','Bernardo','Cecília','Diego','Elaine','Fábio','Glória','Heitor','Irene','Jorge',
              'Kátia','Leandro','Márcia','Norberto','Otávio','Patrícia','Quésia','Renato','Sílvia','Túlio',
              'Úrsula','Valter','Wanda','Xavier','Zélia','Augusto','Berenice','Cláudio','Denise','Everaldo',
              'Flávia','Geraldo','Helena','Ivo','Joana','Luiz'])[n]
       || ' ' || (ARRAY['Azevedo','Bastos','Campos','Duarte','Esteves','Farias','Guimarães','Honorato','Siqueira'])[1 + (n * 5) % 9]
       || ' ' || (ARRAY['Prado','Queiroz','Rezende','Tavares','Vasconcelos','Xavier','Brandão'])[1 + (n * 3) % 7],
       'prof' || n || '@universidade.edu.br',
       (ARRAY['doutor', 'mestre', 'doutor', 'especialista', 'mestre'])[1 + n % 5],
       1 + (n - 1) % 6,
       date '2006-02-01' + n * 181,
       n % 9 <> 0
FROM generate_series(1, 36) AS n;

INSERT INTO escola.cursos VALUES
 (1, 'Ciência da Computação', 'graduacao', 'integral', 8, 1450.00, 5),
 (2, 'Engenharia Civil', 'graduacao', 'integral', 10, 1780.00, 3),
 (3, 'Pedagogia', 'graduacao', 'noturno', 8, 690.00, 2),
 (4, 'Enfermagem', 'graduacao', 'matutino', 10, 1320.00, 4),
 (5, 'Letras - Português e Inglês', 'graduacao', 'noturno', 8, 720.00, 6),
 (6, 'Matemática - Licenciatura', 'graduacao', 'noturno', 8, 650.00, 1),
 (7, 'Análise e Desenvolvimento de Sistemas', 'tecnologo', 'noturno', 5, 1090.00, 11),
 (8, 'MBA em Ciência de Dados', 'pos_graduacao', 'noturno', 3, 1150.00, 17);

INSERT INTO escola.disciplinas (id, codigo, nome, carga_horaria, creditos, departamento_id, pre_requisito_id) VALUES
 (1, 'MAT101', 'Cálculo I', 90, 6, 1, NULL),
 (2, 'MAT102', 'Cálculo II', 90, 6, 1, 1),
 (3, 'MAT103', 'Álgebra Linear', 60, 4, 1, NULL),
 (4, 'MAT201', 'Cálculo III', 60, 4, 1, 2),
 (5, 'EST101', 'Estatística', 60, 4, 1, NULL),
 (6, 'FIS101', 'Física I', 75, 5, 1, 1),
 (7, 'FIS102', 'Física II', 75, 5, 1, 6),
 (8, 'CMP101', 'Algoritmos e Programação', 90, 6, 5, NULL),
 (9, 'CMP102', 'Estruturas de Dados', 90, 6, 5, 8),
 (10, 'CMP201', 'Banco de Dados', 60, 4, 5, 9),
 (11, 'CMP202', 'Engenharia de Software', 60, 4, 5, NULL),
 (12, 'CMP203', 'Redes de Computadores', 60, 4, 5, NULL),
 (13, 'CMP301', 'Sistemas Operacionais', 60, 4, 5, 9),
 (14, 'CMP302', 'Inteligência Artificial', 60, 4, 5, 9),
 (15, 'CMP303', 'Compiladores', 60, 4, 5, 9),
 (16, 'ENG101', 'Desenho Técnico', 60, 4, 3, NULL),
 (17, 'ENG201', 'Resistência dos Materiais', 90, 6, 3, 7),
 (18, 'ENG202', 'Mecânica dos Solos', 75, 5, 3, 17),
 (19, 'ENG301', 'Estruturas de Concreto', 90, 6, 3, 17),
 (20, 'ENG302', 'Hidráulica', 60, 4, 3, 2),
 (21, 'PED101', 'Fundamentos da Educação', 60, 4, 2, NULL),
 (22, 'PED102', 'Psicologia da Educação', 60, 4, 2, NULL),
 (23, 'PED201', 'Didática', 75, 5, 2, 21),
 (24, 'PED202', 'Alfabetização e Letramento', 75, 5, 2, 23),
 (25, 'HUM101', 'Metodologia Científica', 30, 2, 2, NULL),
 (26, 'HUM102', 'Ética e Cidadania', 30, 2, 2, NULL),
 (27, 'SAU101', 'Anatomia Humana', 90, 6, 4, NULL),
 (28, 'SAU102', 'Fisiologia', 90, 6, 4, 27),
 (29, 'SAU201', 'Farmacologia', 60, 4, 4, 28),
 (30, 'SAU202', 'Semiologia', 75, 5, 4, 28),
 (31, 'SAU301', 'Saúde Coletiva', 60, 4, 4, NULL),
 (32, 'LET101', 'Língua Portuguesa I', 60, 4, 6, NULL),
 (33, 'LET102', 'Língua Portuguesa II', 60, 4, 6, 32),
 (34, 'LET103', 'Inglês Instrumental', 45, 3, 6, NULL),
 (35, 'LET201', 'Literatura Brasileira', 60, 4, 6, NULL),
 (36, 'LET202', 'Linguística', 60, 4, 6, 32),
 (37, 'LET203', 'LIBRAS', 45, 3, 6, NULL),
 (38, 'CMP401', 'Computação Quântica', 45, 3, 5, 14),
 (39, 'MAT301', 'Topologia', 60, 4, 1, 4),
 (40, 'LET301', 'Latim', 45, 3, 6, NULL);

INSERT INTO escola.curso_disciplinas (curso_id, disciplina_id, semestre_ideal, obrigatoria) VALUES
 (1, 1, 1, true), (1, 3, 1, true), (1, 8, 1, true), (1, 25, 1, true), (1, 2, 2, true), (1, 9, 2, true),
 (1, 5, 2, true), (1, 34, 2, false), (1, 10, 3, true), (1, 11, 3, true), (1, 13, 4, true), (1, 12, 4, true),
 (1, 14, 5, false), (1, 15, 6, false),
 (2, 1, 1, true), (2, 16, 1, true), (2, 3, 1, true), (2, 25, 1, true), (2, 2, 2, true), (2, 6, 2, true),
 (2, 5, 3, true), (2, 7, 3, true), (2, 17, 4, true), (2, 20, 4, true), (2, 18, 5, true), (2, 19, 6, true),
 (3, 21, 1, true), (3, 22, 1, true), (3, 25, 1, true), (3, 26, 2, true), (3, 23, 2, true), (3, 32, 2, true),
 (3, 24, 3, true), (3, 37, 4, false), (3, 5, 4, false),
 (4, 27, 1, true), (4, 25, 1, true), (4, 28, 2, true), (4, 26, 2, true), (4, 29, 3, true), (4, 30, 3, true),
 (4, 31, 4, true), (4, 5, 4, true),
 (5, 32, 1, true), (5, 34, 1, true), (5, 25, 1, true), (5, 33, 2, true), (5, 35, 2, true), (5, 36, 3, true),
 (5, 37, 3, false), (5, 26, 4, true),
 (6, 1, 1, true), (6, 3, 1, true), (6, 25, 1, true), (6, 2, 2, true), (6, 5, 2, true), (6, 4, 3, true),
 (6, 6, 3, true), (6, 21, 4, true), (6, 23, 5, true),
 (7, 8, 1, true), (7, 25, 1, true), (7, 34, 1, false), (7, 9, 2, true), (7, 10, 2, true), (7, 11, 3, true),
 (7, 12, 3, true), (7, 14, 4, false),
 (8, 10, 1, true), (8, 5, 1, true), (8, 14, 2, true), (8, 11, 2, true);

-- 320 students, 8 entry cohorts (2021-02 .. 2024-08); course 8 (MBA) has no students yet
INSERT INTO escola.alunos (id, nome, cpf, email, data_nascimento, curso_id, data_ingresso, situacao, data_conclusao, bolsa_percentual)
SELECT n,
       (ARRAY['Ana','Bruno','Carla','Daniel','Eduarda','Felipe','Gabriela','Henrique','Isabela','João',
              'Karina','Lucas','Mariana','Nicolas','Olívia','Pedro','Rafaela','Samuel','Tatiana','Vinícius',
              'Yasmin','Thiago','Larissa','Gustavo','Beatriz','Rodrigo','Camila','André','Juliana','Marcelo'])[1 + n % 30]
       || ' ' || (ARRAY['Silva','Santos','Oliveira','Souza','Rodrigues','Ferreira','Alves','Pereira','Lima','Gomes',
              'Costa','Ribeiro','Martins','Carvalho','Almeida','Lopes','Soares','Fernandes','Vieira','Barbosa',
              'Rocha','Dias','Nascimento','Andrade','Moreira','Nunes','Marques','Machado','Mendes','Freitas',
              'Cardoso','Teixeira'])[1 + (n * 7) % 32],
       lpad(((n * 7919 + 104729) % 999999999)::text, 9, '0') || lpad((n % 97)::text, 2, '0'),
       CASE WHEN n % 19 = 0 THEN NULL ELSE 'aluno' || n || '@aluno.universidade.edu.br' END,
       date '1980-01-01' + (n * 1013) % 8000,
       CASE WHEN n % 10 = 0 THEN 1 ELSE 1 + (n * 3) % 7 END,
       (date '2021-02-01' + make_interval(months => 6 * ((n * 3) % 8)))::date,
       'ativa', NULL,
       CASE WHEN n % 9 = 4 THEN 1.00 WHEN n % 6 = 1 THEN 0.50 WHEN n % 11 = 3 THEN 0.25 ELSE 0 END
FROM generate_series(1, 320) AS n;

UPDATE escola.alunos a
SET situacao = v.situacao,
    data_conclusao = CASE WHEN v.situacao = 'concluida'
        THEN (a.data_ingresso + make_interval(months => 6 * v.duracao_semestres - 1))::date + a.id % 20 END
FROM (SELECT x.id, c.duracao_semestres,
             CASE WHEN x.id % 31 = 0 THEN 'cancelada'
                  WHEN x.id % 23 = 0 THEN 'trancada'
                  WHEN x.id % 6 <> 0
                   AND x.data_ingresso + make_interval(months => 6 * c.duracao_semestres) <= date '2024-10-31'
                      THEN 'concluida'
                  ELSE 'ativa' END AS situacao
      FROM escola.alunos x JOIN escola.cursos c ON c.id = x.curso_id) v
WHERE v.id = a.id;

-- turmas: semester index s = 0 (2021.1) .. 7 (2024.2); each subject offered in ~3 of 4 semesters.
-- Professors 31-36 (hired 2021-2023) have not taught yet; inactive professors stop teaching after 2022.
INSERT INTO escola.turmas (id, codigo, disciplina_id, professor_id, ano, semestre, data_inicio, data_fim, sala, vagas)
SELECT row_number() OVER (ORDER BY s, d.id),
       d.codigo || '-' || (2021 + s / 2) || '.' || (1 + s % 2),
       d.id,
       CASE WHEN (d.departamento_id + 6 * ((d.id + s) % 5)) % 9 = 0 AND s >= 4 THEN d.departamento_id
            ELSE d.departamento_id + 6 * ((d.id + s) % 5) END,
       2021 + s / 2, 1 + s % 2,
       make_date(2021 + s / 2, CASE WHEN s % 2 = 0 THEN 2 ELSE 8 END, 8),
       make_date(2021 + s / 2, CASE WHEN s % 2 = 0 THEN 6 ELSE 12 END, 20),
       (ARRAY['A', 'B', 'C', 'D'])[1 + d.id % 4] || (100 + (d.id * 7 + s) % 30),
       40 + (d.id * 3 + s) % 21
FROM escola.disciplinas d CROSS JOIN generate_series(0, 7) AS s
WHERE (d.id + s) % 4 <> 0;

-- each student takes each subject of the curriculum once, in the first offering at/after its ideal semester
INSERT INTO escola.matriculas (id, aluno_id, turma_id, data_matricula, resultado)
SELECT row_number() OVER (ORDER BY x.data_inicio, x.aluno_id, x.turma_id), x.aluno_id, x.turma_id,
       x.data_inicio - (x.aluno_id + x.turma_id) % 20, 'cursando'
FROM (
    SELECT DISTINCT ON (a.id, cd.disciplina_id) a.id AS aluno_id, t.id AS turma_id, t.data_inicio
    FROM escola.alunos a
    JOIN escola.curso_disciplinas cd ON cd.curso_id = a.curso_id
    JOIN escola.turmas t ON t.disciplina_id = cd.disciplina_id
     AND t.data_inicio >= a.data_ingresso + make_interval(months => 6 * (cd.semestre_ideal - 1))
    WHERE a.situacao <> 'cancelada'
      AND (a.situacao <> 'trancada' OR t.data_inicio < a.data_ingresso + interval '1 year')
      AND (a.data_conclusao IS NULL OR t.data_inicio < a.data_conclusao)
      AND (a.id + cd.disciplina_id) % 13 <> 0
    ORDER BY a.id, cd.disciplina_id, t.data_inicio
) x;

-- grades: P1, P2 and Trabalho; the running semester (2024.2) only has P1; dropped enrollments only have P1
UPDATE escola.matriculas m SET resultado = 'trancado'
FROM escola.turmas t WHERE t.id = m.turma_id AND m.id % 29 = 0 AND t.data_inicio < date '2024-08-01';

INSERT INTO escola.notas (id, matricula_id, avaliacao, nota, data_avaliacao)
SELECT row_number() OVER (ORDER BY m.id, k), m.id, (ARRAY['P1', 'P2', 'Trabalho'])[k],
       round(((m.aluno_id * 17 + m.turma_id * 31 + k * 7 + (m.aluno_id % 5) * 9) % 61 + 40) / 10.0, 1),
       t.data_inicio + (ARRAY[45, 110, 125])[k]
FROM escola.matriculas m
JOIN escola.turmas t ON t.id = m.turma_id
CROSS JOIN generate_series(1, 3) AS k
WHERE k = 1 OR (t.data_inicio < date '2024-08-01' AND m.resultado <> 'trancado');

INSERT INTO escola.frequencias (matricula_id, aulas_dadas, faltas)
SELECT m.id, v.aulas, ((m.id * 7) % 100) * v.aulas / 350
FROM escola.matriculas m
JOIN escola.turmas t ON t.id = m.turma_id
JOIN escola.disciplinas d ON d.id = t.disciplina_id
CROSS JOIN LATERAL (SELECT CASE WHEN t.data_inicio >= date '2024-08-01' THEN d.carga_horaria / 5
                                WHEN m.resultado = 'trancado' THEN d.carga_horaria / 6
                                ELSE d.carga_horaria / 3 END AS aulas) v;

UPDATE escola.matriculas m
SET resultado = CASE WHEN g.media >= 6 AND f.faltas * 4 <= f.aulas_dadas THEN 'aprovado' ELSE 'reprovado' END
FROM (SELECT matricula_id, avg(nota) AS media FROM escola.notas GROUP BY matricula_id) g,
     escola.frequencias f, escola.turmas t
WHERE g.matricula_id = m.id AND f.matricula_id = m.id AND t.id = m.turma_id
  AND t.data_inicio < date '2024-08-01' AND m.resultado = 'cursando';

-- monthly tuition, from the entry month until conclusion / leave / cancellation / 2024-10;
-- full scholarship students (bolsa_percentual = 1) are not billed
INSERT INTO escola.mensalidades (id, aluno_id, competencia, valor, vencimento, pago_em)
SELECT row_number() OVER (ORDER BY x.competencia, x.aluno_id), x.aluno_id, x.competencia, x.valor,
       x.competencia + 9,
       CASE WHEN (x.aluno_id * 13 + x.mi) % 37 = 0 THEN NULL
            WHEN x.competencia = date '2024-10-01' AND x.aluno_id % 3 = 0 THEN NULL
            ELSE x.competencia + (4 + (x.aluno_id + x.mi) % 9) + time '08:00'
                 + make_interval(secs => (x.aluno_id * 977 + x.mi * 131) % 43200) END
FROM (
    SELECT a.id AS aluno_id, g.mes::date AS competencia,
           (extract(year FROM g.mes) * 12 + extract(month FROM g.mes))::int AS mi,
           round(c.mensalidade * (1 - a.bolsa_percentual), 2) AS valor
    FROM escola.alunos a
    JOIN escola.cursos c ON c.id = a.curso_id
    CROSS JOIN LATERAL generate_series(
        a.data_ingresso,
        least(date '2024-10-01', CASE a.situacao
            WHEN 'concluida' THEN date_trunc('month', a.data_conclusao)::date
            WHEN 'trancada' THEN (a.data_ingresso + interval '11 months')::date
            WHEN 'cancelada' THEN (a.data_ingresso + interval '2 months')::date
            ELSE date '2024-10-01' END),
        interval '1 month') AS g(mes)
    WHERE a.bolsa_percentual < 1
) x;

CREATE VIEW escola.vw_boletim AS
SELECT a.id AS aluno_id, a.nome AS aluno, c.nome AS curso, d.codigo, d.nome AS disciplina,
       t.ano, t.semestre, round(avg(n.nota), 2) AS media, f.faltas, m.resultado
FROM escola.matriculas m
JOIN escola.alunos a ON a.id = m.aluno_id
JOIN escola.cursos c ON c.id = a.curso_id
JOIN escola.turmas t ON t.id = m.turma_id
JOIN escola.disciplinas d ON d.id = t.disciplina_id
LEFT JOIN escola.notas n ON n.matricula_id = m.id
LEFT JOIN escola.frequencias f ON f.matricula_id = m.id
GROUP BY a.id, a.nome, c.nome, d.codigo, d.nome, t.ano, t.semestre, f.faltas, m.resultado;

ANALYZE;
