"""A general bilingual (English / Brazilian Portuguese) business vocabulary for schema retrieval.

Why this exists: table and column names are written in one language and questions arrive in either, so
"quantos aluguéis por loja?" must find ``rental`` and ``store``, and "top customers by revenue" must find
``clientes`` and ``faturas``. Each concept lists the words of both languages that name it (singular forms
are enough: the stemmer in :mod:`dba_admin.assistant.schema_index` folds accents and plurals, and verb forms
are listed where they are irregular). A word may belong to several concepts ("nota" is a note and an
invoice; "consulta" an appointment and a query).

Nothing here names a table of any sample schema: these are the words a dictionary of business terms would
hold (commerce, finance, people, HR, education, travel, media, health, logistics, time and place).
``RELATED`` links concepts that answer each other's questions ("revenue" is found in payments, invoices and
sales) at a lower weight than a synonym.
"""

from __future__ import annotations

__all__ = ["CONCEPT_WORDS", "RELATED"]

# canonical concept -> words of both languages (space separated; accents and case do not matter).
CONCEPT_WORDS: dict[str, str] = {
    # ---- people and organisations ----------------------------------------------------------------
    "customer": "customer client buyer consumer shopper patron cliente comprador compradora consumidor freguês",
    "user": "user usuário usuária login member membro associado subscriber assinante",
    "person": "person people individual pessoa pessoas indivíduo contact contato contatos",
    "profile": "profile perfil",
    "subordinate": "subordinate subordinates report reports subordinado subordinada liderado liderada",
    "training": "training trainings treinamento capacitação workshop",
    "employee": (
        "employee staff worker personnel clerk colaborador colaboradora funcionário funcionária "
        "empregado empregada pessoal attendant atendente technician técnico técnica electrician eletricista "
        "headcount contractor contractors"
    ),
    "support": "support suporte helpdesk sac assistance assistência",
    "work": "work trabalho labor labour",
    "candidate": "candidate candidato candidata applicant aplicante",
    "interview": "interview entrevista",
    "leave": "vacation férias leave licença afastamento absence ausência",
    "benefit": "benefit benefício perk",
    "timesheet": "timesheet ponto clock punch",
    "captain": "captain comandante pilot piloto",
    "manager": "manager supervisor boss chief gerente gestor gestora supervisora chefe responsável",
    "seller": "seller salesperson salesman saleswoman salesrep rep agent vendedor vendedora representante agente",
    "supplier": "supplier vendor provider distributor fornecedor fornecedora distribuidor provedor",
    "company": (
        "company business firm enterprise corporation organization organisation empresa companhia firma "
        "negócio organização corporação"
    ),
    "partner": "partner sócio parceiro parceira affiliate afiliado",
    "owner": "owner proprietor holder dono dona proprietário proprietária titular",
    "author": "author writer autor autora escritor escritora",
    "publisher": "publisher editora publicadora",
    "student": "student pupil learner aluno aluna estudante discente",
    "teacher": "teacher instructor professor professora lecturer docente tutor tutora educator",
    "patient": "patient paciente",
    "doctor": "doctor physician médico médica doutor doutora vet veterinarian veterinário veterinária dentist dentista",
    "passenger": "passenger passageiro passageira traveler traveller viajante",
    "guest": "guest hóspede visitante visitor",
    "driver": "driver motorista condutor",
    "team": "team squad equipe",
    "department": "department division sector departamento divisão setor área",
    "role": "role função papel cargo position posição job",
    "family": "family família dependent dependente spouse cônjuge filho filha",
    # ---- commerce ----------------------------------------------------------------------------------
    "order": "order pedido encomenda ordem",
    "purchase": "purchase buy bought compra comprar comprado comprou compraram",
    "sale": "sale sell sold selling venda vender vendido vendida vendeu venderam vendas",
    "item": "item line linha detail detalhe lineitem",
    "product": "product produto merchandise mercadoria goods sku article artigo",
    "service": "service serviço",
    "category": "category categoria class classe",
    "type": "type tipo kind espécie modalidade",
    "brand": "brand marca manufacturer fabricante",
    "price": "price preço pricing",
    "cost": "cost custo expense despesa gasto",
    "amount": "amount montante quantia sum soma value valor importe",
    "total": "total subtotal",
    "quantity": "quantity quantidade qty qtd qtde volume",
    "discount": "discount desconto rebate abatimento coupon cupom voucher promo",
    "tax": "tax imposto tributo vat icms iss taxes",
    "fee": "fee charge tarifa taxa surcharge encargo tuition mensalidade anuidade",
    "stock": "stock estoque inventory inventário armazenamento",
    "warehouse": "warehouse depot armazém depósito almoxarifado storage",
    "store": "store shop outlet branch loja filial retail varejo",
    "cart": "cart basket carrinho cesta",
    "shipment": (
        "shipment shipping ship shipped dispatch dispatched envio enviar enviado enviada remessa despacho "
        "despachado expedição expedido frete freight"
    ),
    "shipper": "shipper carrier courier transportadora transportador",
    "delivery": "delivery deliver delivered entrega entregar entregue",
    "package": "package pacote parcel volume embalagem",
    "tracking": "tracking rastreamento rastreio",
    "cargo": "cargo carga load freight_load",
    "return": "return returned devolução devolver devolvido returns",
    "refund": "refund refunded reembolso reembolsar estorno estornado chargeback",
    "payment": (
        "payment pay paid paying pagamento pagar pago paga pagou pagaram quitação installment parcela prestação "
        "recebimento received recebido recebida"
    ),
    "method": "method meio método forma pix boleto",
    "card": "card cartão credit crédito debit débito",
    "invoice": "invoice bill billed billing fatura faturar faturado faturada nfe receipt recibo nota",
    "revenue": "revenue income earnings turnover receita faturamento renda ganho ganhos rendimento proceeds",
    "profit": "profit margin lucro margem",
    "transaction": "transaction transação operation operação movement movimento movimentação",
    "account": "account conta ledger",
    "balance": "balance saldo",
    "bank": "bank banco agency agência",
    "loan": (
        "loan empréstimo emprestar emprestado emprestada lend lending lent borrow borrowed borrowing financing "
        "financiamento"
    ),
    "interest": "interest juros",
    "penalty": "penalty fine multa",
    "debt": "debt dívida debtor devedor",
    "budget": "budget orçamento forecast previsão",
    "currency": "currency moeda exchange câmbio",
    "contract": "contract contrato agreement acordo",
    "subscription": "subscription assinatura plan plano membership",
    "quote": "quote quotation cotação proposal proposta",
    "lead": "lead prospect oportunidade opportunity deal negociação",
    "campaign": "campaign campanha marketing promotion promoção advertising publicidade newsletter",
    "review": "review avaliação feedback opinião testimonial",
    "rating": (
        "rating rate rated classification classificação indicativa certificate certification parental "
        "score pontuação stars estrelas"
    ),
    # ---- rental, booking, travel, hospitality ----------------------------------------------------
    "rental": (
        "rental rent rented renting aluguel alugar alugado alugada alugou alugaram locação locar locado "
        "locada lease leasing arrendamento"
    ),
    "booking": "booking booked reservation reserved reserva reservar reservado",
    "appointment": "appointment consultation consulta atendimento agendamento visit visita",
    "schedule": (
        "schedule scheduled agenda agendar agendado agendada marcar marcado marcada timetable horário "
        "calendar calendário"
    ),
    "ticket": "ticket bilhete passagem ingresso",
    "flight": "flight voo voô leg trecho",
    "airport": "airport aeroporto terminal",
    "airline": "airline carrier aerolinha",
    "aircraft": "aircraft airplane plane avião aeronave",
    "crew": "crew tripulação tripulante tripulantes aircrew",
    "seat": "seat assento poltrona lugar",
    "boarding": "boarding embarque check_in boarded embarcar",
    "trip": "trip journey travel viagem percurso itinerary itinerário",
    "agency": "agency agencies agência agências bureau",
    "route": "route rota trajeto",
    "destination": "destination destino",
    "origin": "origin origem source procedência",
    "departure": "departure partida saída depart departed decolagem decolar decolou decolaram takeoff",
    "arrival": "arrival chegada arrive arrived pouso pousou aterrissagem landing",
    "hotel": "hotel pousada inn lodging hospedagem accommodation",
    "room": "room quarto sala suite",
    "vehicle": "vehicle car carro veículo automóvel truck caminhão fleet frota",
    # ---- media and entertainment -----------------------------------------------------------------
    "film": "film movie filme cinema",
    "actor": "actor actress ator atriz performer cast elenco",
    "director": "director diretor diretora filmmaker cineasta",
    "track": "track song faixa música musica canção tune recording gravação",
    "album": "album álbum disco lp",
    "artist": "artist artista band banda singer cantor cantora musician músico composer compositor",
    "genre": "genre gênero style estilo",
    "playlist": "playlist",
    "channel": "channel canal",
    "video": "video vídeo clip",
    "media": "media mídia format formato",
    "language": "language idioma língua lingua locale",
    "book": "book livro obra",
    "episode": "episode episódio season temporada series série",
    "game": "game jogo match",
    "event": "event evento occurrence ocorrência happening",
    "duration": "duration length duração comprimento runtime minutes minutos seconds segundos milliseconds tempo",
    "size": "size tamanho bytes dimension dimensão",
    # ---- education -------------------------------------------------------------------------------
    "course": "course curso program programa degree graduação",
    "subject": "subject disciplina matéria module módulo",
    "class": "class turma section seção cohort",
    "baggage": "baggage bag bags luggage bagagem bagagens mala malas",
    "business": "business executiva executivo executive",
    "enrollment": (
        "enrollment enrolment enroll enrolled registration matrícula matricular matriculado inscrição "
        "inscrito inscrever"
    ),
    "grade": "grade mark conceito nota score",
    "exam": "exam test prova exame assessment avaliação_escolar quiz",
    "lesson": "lesson aula lecture",
    "semester": "semester semestre bimestre trimestre",
    "school": "school escola university universidade college faculdade campus institution instituição",
    "attendance": "attendance presença frequência absence",
    # ---- health ----------------------------------------------------------------------------------
    "prescription": "prescription prescrição prescribed prescrito prescrita",
    "medication": "medication medicamento medicine remédio drug fármaco",
    "diagnosis": "diagnosis diagnóstico condition condição disease doença",
    "allergy": "allergy allergic alergia alérgico alérgica",
    "vaccine": "vaccine vaccination vacina vacinação immunization",
    "hospital": "hospital clinic clínica health saúde",
    "admission": "admission internação hospitalization hospitalização inpatient stay stays estadia",
    "ward": "ward ala enfermaria bed leito",
    "procedure": "procedure procedimento surgery cirurgia",
    "insurance": "insurance seguro insurer seguradora convênio",
    "nurse": "nurse enfermeiro enfermeira",
    "animal": "animal pet bicho dog cachorro cão cat gato",
    "breed": "breed raça species espécie",
    "weight": "weight peso kg kilogram quilo",
    "height": "height altura",
    "birth": "birth born birthday birthdate nascimento nascido aniversário age idade",
    "gender": "gender sex sexo",
    # ---- HR and work -----------------------------------------------------------------------------
    "salary": "salary wage salário salarial remuneração payroll folha ordenado",
    "payslip": "payslip payslips paystub holerite contracheque",
    "intern": "intern interns internship estagiário estagiária estágio trainee",
    "contractor": "contractor contractors freelancer terceirizado terceiro prestador",
    "union": "union unionized sindicato sindicalizado sindicalizada",
    "hire": (
        "hire hires hired hiring contratação contratações contratar contratado admission admissão admitido admitida"
    ),
    "termination": "termination dismissal fired demissão demitido desligamento",
    "job": "job vaga occupation ocupação profissão profession",
    "shift": "shift turno jornada",
    "project": "project projeto",
    "task": "task tarefa activity atividade assignment",
    "issue": "issue problem problema incident incidente bug defect defeito",
    "request": "request solicitação chamado requisição demand demanda",
    "approval": "approval approve approved aprovação aprovar aprovado",
    # ---- communication ---------------------------------------------------------------------------
    "message": "message mensagem sms",
    "conversation": "conversation conversa chat dialogue dialog diálogo thread",
    "notification": "notification notificação alert alerta aviso",
    "reminder": "reminder lembrete",
    "recipient": "recipient destinatário destinatária receiver addressee audience público",
    "email": "email mail",
    "phone": "phone telephone telefone celular mobile cellphone fone whatsapp",
    "comment": "comment comentário remark observação",
    "note": "note nota anotação obs memo",
    "question": "question pergunta dúvida inquiry",
    "answer": "answer resposta reply responder replied respondido",
    "memory": "memory memória remember lembrar lembrança recall",
    "context": "context contexto",
    "intent": "intent intenção intencao purpose propósito",
    "summary": "summary resumo abstract sinopse synopsis",
    "description": "description descrição",
    "ai": "ai ia assistant assistente bot chatbot llm",
    "token": "token",  # nosec B105
    # ---- place -----------------------------------------------------------------------------------
    "address": "address endereço street rua avenue avenida logradouro",
    "city": "city cidade town município municipality",
    "country": "country país nation nação nationality nacionalidade",
    "state": "state estado province província uf",
    "region": "region região regional territory território zone zona",
    "district": "district bairro neighborhood neighbourhood distrito",
    "postal": "postal zip zipcode postcode cep",
    "location": "location localização local place lugar site",
    "continent": "continent continente",
    # country names that differ between the languages (values of country columns)
    "brazil": "brazil brasil brazilian brasileiro brasileira",
    "usa": "usa eua american americano americana",
    "germany": "germany alemanha german alemão alemã",
    "spain": "spain espanha spanish espanhol espanhola",
    "france": "france frança french francês francesa",
    "italy": "italy itália italian italiano italiana",
    "england": "england inglaterra english inglês inglesa",
    "netherlands": "netherlands holland holanda dutch holandês holandesa",
    "belgium": "belgium bélgica belgian belga",
    "sweden": "sweden suécia swedish sueco sueca",
    "norway": "norway noruega norwegian norueguês norueguesa",
    "denmark": "denmark dinamarca danish dinamarquês dinamarquesa",
    "finland": "finland finlândia finnish finlandês finlandesa",
    "poland": "poland polônia polish polonês polonesa",
    "japan": "japan japão japanese japonês japonesa",
    "mexico": "mexico méxico mexican mexicano mexicana",
    "canada": "canada canadá canadian canadense",
    "argentina": "argentina argentine argentino",
    "portugal": "portugal portuguese português portuguesa",
    "india": "india índia indian indiano indiana",
    "hungary": "hungary hungria hungarian húngaro húngara",
    "ireland": "ireland irlanda irish irlandês irlandesa",
    "austria": "austria áustria austrian austríaco austríaca",
    "switzerland": "switzerland suíça swiss suíço",
    "czech": "czech tcheca tcheco tchéquia",
    "russia": "russia rússia russian russo russa",
    "china": "china chinese chinês chinesa",
    "australia": "australia austrália australian australiano australiana",
    "coordinate": "latitude longitude coordinate coordenada geolocation",
    # ---- time ------------------------------------------------------------------------------------
    "date": "date data datetime timestamp dated",
    "time": "time hora hour horário",
    "created": "created creation criado criada criação registered cadastrado cadastro",
    "updated": "updated update modified atualizado atualizada atualização alterado modificado",
    "deleted": "deleted removed excluído excluida removido apagado retirado retirada uninstalled desinstalado",
    "start": "start begin began started início iniciado começo começou opened abertura",
    "end": (
        "end finish finished ended fim término terminado encerrado closed fechamento discharged discharge "
        "left dismissed dismissal terminated termination resigned fired desligamento desligado desligada "
        "demitido demitida demissão saída"
    ),
    "evening": "evening night nightly noturno noturna noite",
    "morning": "morning matutino matutina manhã",
    "afternoon": "afternoon vespertino vespertina tarde",
    "fail": "failed fail failing flunked flunk reprovado reprovada reprovou reprovaram reprovação",
    "pass": "passed approved aprovado aprovada aprovou aprovaram aprovação",
    "complete": (
        "complete completed completion concluded conclude concluído concluída conclusão concluir finalizado "
        "finalizada finalização resolved resolvido resolvida resolução done feito feita fulfilled atendido atendida "
        "graduated graduate graduation formado formada formatura"
    ),
    "due": "due deadline vencimento prazo expiry expiration expira validade",
    "period": "period período interval intervalo",
    # ---- state and attributes ----------------------------------------------------------------------
    "status": "status situação stage etapa fase",
    "active": "active ativo ativa enabled habilitado inactive inativo inativa disabled desabilitado",
    "cancel": "cancel cancelled canceled cancellation cancelado cancelada cancelamento cancelar churn churned",
    "incident": "incident incidents ocorrência ocorrências occurrence sinistro",
    "refuel": "refuel refueling fueling fuel-up fuel-ups fillup fill-up abastecimento abastecimentos",
    "discontinued": "discontinued descontinuado descontinuada obsolete obsoleto",
    "name": "name nome fullname firstname lastname surname sobrenome apelido nickname",
    "title": "title título heading",
    "code": "code código identifier identificador",
    "number": "number número numero num",
    "reason": "reason motivo cause causa justification justificativa razão",
    "level": "level nível tier",
    "priority": "priority prioridade",
    "tag": "tag etiqueta label rótulo",
    "image": "image imagem photo foto thumbnail avatar",
    "document": "document documento file arquivo attachment anexo cpf cnpj rg ssn",
    "url": "url link site website página",
    "password": "password senha credential credencial",  # nosec B105
    "consent": "consent consentimento opt optin agreed aceitou aceitar accept accepted lgpd gdpr",
    "sent": "sent send sending enviado enviada enviar enviou",
    "received": "received receive recebido recebida receber inbound",
    "read": "read lido lida leitura",
    "log": "log registro audit auditoria history histórico trail",
    "version": "version versão revision revisão",
    "execution": "execution execução run executado executed",
    "script": "script",
    "session": "session sessão",
    "setting": "setting configuração config preference preferência option opção parameter parâmetro",
    "permission": "permission permissão privilege privilégio access acesso grant",
    "security": "security segurança policy política",
    "measure": "measure measurement medida medição mensuração",
    "meter": "meter medidor hidrômetro gauge",
    "reading": "reading leitura measurement medição",
    "consumption": "consumption consumo usage uso consumed consumido",
    "outage": (
        "outage blackout interruption interrupção interrupt interrupted interromper interrompido apagão queda downtime"
    ),
    "connection": "connection ligação conexão hookup connected ligado",
    "disconnection": "disconnection cutoff corte suspension suspensão desligado disconnected",
    "installation": "installation instalação installed instalado instalada install instalar setup",
    "tariff": "tariff tarifa rate_plan bandeira",
    "substation": "substation subestação transformer transformador feeder alimentador",
    "complaint": "complaint reclamação queixa grievance ouvidoria",
    "outsourced": (
        "outsourced outsourcing terceirizado terceirizada terceirização contractor subcontractor subcontratado "
        "empreiteira"
    ),
    "overdue": "overdue late atrasado atrasada atraso inadimplente inadimplência delinquent arrears vencido vencida",
    "energy": "energy energia power potência electricity eletricidade kwh consumption consumo",
    "sensor": "sensor device dispositivo equipment equipamento machine máquina",
    "water": "water água",
    "gas": "gas gás fuel combustível",
    "temperature": "temperature temperatura",
}

# Concepts that answer each other's questions: "revenue" lives in payments, invoices and sales; "who bought"
# in customers. Matched at a lower weight than a synonym (see schema_index.RELATED_FACTOR).
RELATED: dict[str, tuple[str, ...]] = {
    "revenue": ("payment", "invoice", "sale", "amount", "total", "price"),
    "profit": ("revenue", "cost", "price"),
    "sale": ("order", "invoice", "payment", "revenue", "purchase"),
    "purchase": ("order", "invoice", "payment", "sale"),
    "order": ("purchase", "sale"),
    "invoice": ("payment", "order", "sale"),
    "payment": ("invoice", "amount"),
    "prescription": ("medication",),
    "medication": ("prescription",),
    "customer": ("user", "person", "profile", "buyer"),
    "user": ("customer", "person", "profile"),
    "person": ("customer", "user", "employee", "profile"),
    "employee": ("staff", "person", "seller"),
    "seller": ("employee",),
    "rental": ("booking", "return"),
    "booking": ("rental", "appointment", "reservation"),
    "appointment": ("booking", "schedule"),
    "schedule": ("appointment", "booking"),
    "stock": ("warehouse", "quantity", "product"),
    "quantity": ("stock",),
    "price": ("amount", "cost"),
    "amount": ("price", "total"),
    "total": ("amount",),
    "track": ("album", "playlist"),
    "student": ("enrollment",),
    "course": ("enrollment", "class", "subject"),
    "subject": ("course", "class", "enrollment"),
    "enrollment": ("student", "course"),
    "flight": ("ticket", "boarding", "passenger"),
    "passenger": ("ticket", "booking"),
    "shipment": ("delivery", "shipper"),
    "delivery": ("shipment",),
    "message": ("conversation",),
    "conversation": ("message",),
    "energy": ("measure", "consumption"),
    "measure": ("sensor", "reading"),
    "meter": ("reading", "consumption", "measure"),
    "reading": ("meter", "consumption"),
    "consumption": ("reading", "meter", "energy"),
    "outage": ("region",),
    "work": ("service", "task"),
    "service": ("work",),
    "support": ("employee", "seller"),
    "overdue": ("due", "invoice"),
}
