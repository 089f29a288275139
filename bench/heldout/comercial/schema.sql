-- Held-out evaluation schema "comercial": a Northwind-like trading company with Brazilian Portuguese names,
-- written by hand for helper F3's held-out evaluation. Deterministic data (arithmetic only), orders 1996-1998.
-- Table comments only (no column comments), a self FK (funcionarios.gestor_id), a 0/1 smallint flag
-- (descontinuado), nullable dates (data_pedido for two draft orders, data_envio for unshipped orders).

CREATE SCHEMA comercial;

CREATE TABLE comercial.categorias (
    id integer PRIMARY KEY,
    nome varchar(40) NOT NULL UNIQUE,
    descricao text
);
COMMENT ON TABLE comercial.categorias IS 'Categorias de produtos';
CREATE TABLE comercial.fornecedores (
    id integer PRIMARY KEY,
    razao_social varchar(80) NOT NULL,
    nome_contato varchar(60),
    cargo_contato varchar(60),
    endereco varchar(120),
    cidade varchar(40) NOT NULL,
    uf char(2),
    pais varchar(40) NOT NULL,
    telefone varchar(24)
);
COMMENT ON TABLE comercial.fornecedores IS 'Fornecedores dos produtos';
CREATE TABLE comercial.produtos (
    id integer PRIMARY KEY,
    nome varchar(80) NOT NULL,
    fornecedor_id integer REFERENCES comercial.fornecedores (id),
    categoria_id integer REFERENCES comercial.categorias (id),
    quantidade_por_unidade varchar(40),
    preco_unitario numeric(10, 2) NOT NULL DEFAULT 0 CHECK (preco_unitario >= 0),
    unidades_em_estoque smallint NOT NULL DEFAULT 0,
    unidades_pedidas smallint NOT NULL DEFAULT 0,
    nivel_reposicao smallint NOT NULL DEFAULT 0,
    descontinuado smallint NOT NULL DEFAULT 0 CHECK (descontinuado IN (0, 1))
);
COMMENT ON TABLE comercial.produtos IS 'Catálogo de produtos vendidos';
CREATE TABLE comercial.clientes (
    id varchar(5) PRIMARY KEY,
    nome_empresa varchar(80) NOT NULL,
    nome_contato varchar(60),
    cargo_contato varchar(60),
    endereco varchar(120),
    cidade varchar(40) NOT NULL,
    uf char(2),
    pais varchar(40) NOT NULL,
    telefone varchar(24)
);
COMMENT ON TABLE comercial.clientes IS 'Clientes (empresas compradoras)';
CREATE TABLE comercial.funcionarios (
    id integer PRIMARY KEY,
    nome varchar(40) NOT NULL,
    sobrenome varchar(40) NOT NULL,
    cargo varchar(60) NOT NULL,
    tratamento varchar(10),
    data_nascimento date,
    data_admissao date NOT NULL,
    cidade varchar(40),
    gestor_id integer REFERENCES comercial.funcionarios (id)
);
COMMENT ON TABLE comercial.funcionarios IS 'Funcionários (vendedores e gerentes)';
CREATE TABLE comercial.transportadoras (
    id integer PRIMARY KEY,
    nome varchar(60) NOT NULL,
    telefone varchar(24)
);
COMMENT ON TABLE comercial.transportadoras IS 'Empresas que fazem as entregas';
CREATE TABLE comercial.pedidos (
    id integer PRIMARY KEY,
    cliente_id varchar(5) NOT NULL REFERENCES comercial.clientes (id),
    funcionario_id integer NOT NULL REFERENCES comercial.funcionarios (id),
    data_pedido date,
    data_entrega_prevista date,
    data_envio date,
    transportadora_id integer REFERENCES comercial.transportadoras (id),
    frete numeric(10, 2) NOT NULL DEFAULT 0,
    nome_destinatario varchar(80),
    cidade_entrega varchar(40),
    pais_entrega varchar(40)
);
COMMENT ON TABLE comercial.pedidos IS 'Pedidos de venda';
CREATE TABLE comercial.itens_pedido (
    pedido_id integer NOT NULL REFERENCES comercial.pedidos (id),
    produto_id integer NOT NULL REFERENCES comercial.produtos (id),
    preco_unitario numeric(10, 2) NOT NULL CHECK (preco_unitario >= 0),
    quantidade smallint NOT NULL DEFAULT 1 CHECK (quantidade > 0),
    desconto numeric(4, 2) NOT NULL DEFAULT 0 CHECK (desconto >= 0 AND desconto <= 1),
    PRIMARY KEY (pedido_id, produto_id)
);
COMMENT ON TABLE comercial.itens_pedido IS 'Itens (linhas) de cada pedido';

-- ---------------------------------------------------------------- data
INSERT INTO comercial.categorias VALUES
 (1, 'Bebidas', 'Refrigerantes, cafés, chás, cervejas'),
 (2, 'Condimentos', 'Molhos, temperos e pastas'),
 (3, 'Confeitaria', 'Sobremesas, doces e pães doces'),
 (4, 'Laticínios', 'Queijos e derivados do leite'),
 (5, 'Grãos e Cereais', 'Pães, massas e cereais'),
 (6, 'Carnes', 'Carnes preparadas'),
 (7, 'Hortifruti', 'Frutas secas e tofu'),
 (8, 'Frutos do Mar', 'Peixes e algas');
INSERT INTO comercial.fornecedores (id, razao_social, nome_contato, cargo_contato, cidade, uf, pais, telefone)
SELECT i,
       (ARRAY['Distribuidora', 'Comercial', 'Indústria', 'Cooperativa', 'Empório', 'Armazém'])[1 + i % 6] || ' '
       || (ARRAY['Aurora', 'Boa Safra', 'Caravela', 'Delta', 'Estrela', 'Fonte Nova', 'Girassol', 'Horizonte',
                 'Ipê', 'Jangada', 'Lua Cheia', 'Mantiqueira', 'Nordeste', 'Oceano', 'Pampa'])[1 + (i * 4) % 15] || ' Ltda',
       (ARRAY['Ana Souza', 'Bruno Lima', 'Carla Dias', 'Diego Melo', 'Elisa Rocha'])[1 + i % 5],
       (ARRAY['Gerente de Vendas', 'Representante', 'Proprietário'])[1 + i % 3],
       (ARRAY['São Paulo', 'Campinas', 'Curitiba', 'Porto Alegre', 'Recife', 'Belo Horizonte', 'Buenos Aires', 'Lisboa'])[1 + (i * 3) % 8],
       NULL,
       (ARRAY['Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Argentina', 'Portugal'])[1 + (i * 3) % 8],
       '(11) 4' || lpad(((i * 7919) % 10000000)::text, 7, '0')
FROM generate_series(1, 15) AS i;
UPDATE comercial.fornecedores SET uf = CASE cidade WHEN 'São Paulo' THEN 'SP' WHEN 'Campinas' THEN 'SP' WHEN 'Curitiba' THEN 'PR'
  WHEN 'Porto Alegre' THEN 'RS' WHEN 'Recife' THEN 'PE' WHEN 'Belo Horizonte' THEN 'MG' END;
INSERT INTO comercial.produtos (id, nome, fornecedor_id, categoria_id, quantidade_por_unidade, preco_unitario,
                                unidades_em_estoque, unidades_pedidas, nivel_reposicao, descontinuado)
SELECT i,
       (ARRAY['Café', 'Chá', 'Molho', 'Doce', 'Queijo', 'Macarrão', 'Linguiça', 'Castanha', 'Sardinha', 'Geleia',
              'Biscoito', 'Azeite'])[1 + i % 12] || ' '
       || (ARRAY['Serrano', 'Mineiro', 'Gaúcho', 'Baiano', 'Paulista', 'Colonial', 'Tropical'])[1 + (i / 12) % 7],
       1 + (i * 7) % 13,  -- suppliers 14 and 15 supply nothing
       1 + (i * 5 + i / 8) % 8,
       (ARRAY['12 latas de 300 g', '24 garrafas de 1 l', '10 caixas de 500 g', '6 potes de 250 g'])[1 + i % 4],
       round((4.5 + ((i * 37) % 83) * 1.17 + i * 0.013)::numeric, 2),
       CASE WHEN i % 9 = 0 THEN 0 ELSE (i * 23) % 120 END,
       CASE WHEN i % 6 = 0 THEN 10 * (1 + i % 4) ELSE 0 END,
       (ARRAY[0, 5, 10, 15, 20, 25, 30])[1 + (i * 3) % 7],
       CASE WHEN i IN (5, 9, 17, 24, 28, 29, 42, 53, 60) THEN 1 ELSE 0 END
FROM generate_series(1, 77) AS i;
INSERT INTO comercial.clientes (id, nome_empresa, nome_contato, cargo_contato, cidade, uf, pais, telefone)
SELECT upper(substr(md5(i::text), 1, 5)),
       (ARRAY['Mercado', 'Supermercado', 'Restaurante', 'Padaria', 'Lanchonete', 'Empório', 'Cantina'])[1 + i % 7] || ' '
       || (ARRAY['Bom Preço', 'Central', 'do Porto', 'Vila Rica', 'Sabor', 'Alvorada', 'Primavera', 'Real', 'Paraíso',
                 'Tradição', 'Família', 'Esquina', 'Pioneiro'])[1 + (i / 7 * 2 + i) % 13],
       (ARRAY['Mariana Alves', 'Pedro Costa', 'Lucas Ferreira', 'Juliana Gomes', 'Rafael Pinto', 'Fernanda Ramos'])[1 + i % 6],
       (ARRAY['Comprador', 'Proprietário', 'Gerente'])[1 + i % 3],
       (ARRAY['São Paulo', 'Rio de Janeiro', 'Salvador', 'Fortaleza', 'Belo Horizonte', 'Manaus', 'Curitiba', 'Porto Alegre',
              'Lisboa', 'Porto', 'Buenos Aires', 'Montevidéu'])[1 + (i * 5) % 12],
       NULL,
       (ARRAY['Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Brasil', 'Portugal', 'Portugal',
              'Argentina', 'Uruguai'])[1 + (i * 5) % 12],
       '(21) 3' || lpad(((i * 104729) % 10000000)::text, 7, '0')
FROM generate_series(1, 91) AS i;
INSERT INTO comercial.funcionarios VALUES
 (1, 'Beatriz', 'Carvalho', 'Diretora Comercial', 'Sra.', '1952-02-19', '1992-08-14', 'São Paulo', NULL),
 (2, 'André', 'Nogueira', 'Gerente de Vendas', 'Sr.', '1955-03-04', '1993-10-17', 'São Paulo', 1),
 (3, 'Camila', 'Barros', 'Representante de Vendas', 'Sra.', '1963-08-30', '1992-04-01', 'Campinas', 2),
 (4, 'Daniel', 'Teixeira', 'Representante de Vendas', 'Sr.', '1958-09-19', '1993-05-03', 'Santos', 2),
 (5, 'Eduarda', 'Moreira', 'Representante de Vendas', 'Sra.', '1960-05-29', '1994-01-02', 'São Paulo', 2),
 (6, 'Felipe', 'Cardoso', 'Gerente Regional', 'Sr.', '1969-07-02', '1993-11-15', 'Rio de Janeiro', 1),
 (7, 'Gabriela', 'Ribeiro', 'Representante de Vendas', 'Sra.', '1966-01-27', '1994-11-15', 'Rio de Janeiro', 6),
 (8, 'Henrique', 'Martins', 'Assistente de Vendas', 'Sr.', '1958-01-09', '1994-03-05', 'São Paulo', 2),
 (9, 'Isabela', 'Rocha', 'Representante de Vendas', 'Sra.', '1966-01-27', '1995-06-13', 'Niterói', 6);
INSERT INTO comercial.transportadoras VALUES
 (1, 'Rápido Expresso', '(11) 5555-3199'), (2, 'Transportes União', '(11) 5555-3931'), (3, 'Entrega Federal', '(11) 5555-9931');
-- 830 orders, 1996-07-04 .. 1998-05-06; customers 90 and 91 never order; orders 10828 and 10829 are drafts (no date)
INSERT INTO comercial.pedidos (id, cliente_id, funcionario_id, data_pedido, data_entrega_prevista, data_envio,
                               transportadora_id, frete, nome_destinatario, cidade_entrega, pais_entrega)
SELECT 10247 + n,
       upper(substr(md5((1 + (n * 31 + n / 9) % 89)::text), 1, 5)),
       1 + (n * 5 + n / 17) % 9,
       CASE WHEN n IN (581, 582) THEN NULL ELSE date '1996-07-04' + (n * 671 / 830) END,
       CASE WHEN n IN (581, 582) THEN NULL ELSE date '1996-07-04' + (n * 671 / 830) + 28 END,
       CASE WHEN n IN (581, 582) OR n > 810 OR n % 67 = 0 THEN NULL
            ELSE date '1996-07-04' + (n * 671 / 830) + CASE WHEN n % 13 = 0 THEN 30 + n % 7 ELSE 1 + (n * 7) % 12 END END,
       1 + n % 3,
       round((1.5 + ((n * 53) % 400) * 0.61 + n * 0.0007)::numeric, 2),
       NULL, NULL, NULL
FROM generate_series(1, 830) AS n;
UPDATE comercial.pedidos p SET nome_destinatario = c.nome_empresa, cidade_entrega = c.cidade, pais_entrega = c.pais
FROM comercial.clientes c WHERE c.id = p.cliente_id;
-- items: 1 to 4 per order; discontinued products are not sold after 1997-12-31
INSERT INTO comercial.itens_pedido (pedido_id, produto_id, preco_unitario, quantidade, desconto)
SELECT p.id, pr.id, pr.preco_unitario * CASE WHEN p.data_pedido < date '1997-01-01' THEN 0.8 ELSE 1 END,
       1 + ((p.id * 7 + k * 11) % 60),
       (ARRAY[0, 0, 0, 0.05, 0.1, 0.15, 0.2, 0.25])[1 + (p.id + k * 3) % 8]
FROM comercial.pedidos p
CROSS JOIN LATERAL generate_series(0, (p.id * 3) % 4) AS k
JOIN LATERAL (SELECT x.id, x.preco_unitario FROM comercial.produtos x
              WHERE x.id = 1 + ((p.id * 13 + k * 19) % 77)) pr ON true
WHERE NOT (coalesce(p.data_pedido, date '1998-06-01') >= date '1998-01-01'
           AND pr.id IN (SELECT id FROM comercial.produtos WHERE descontinuado = 1));
