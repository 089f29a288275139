-- check: not_valid_constraints
-- category: MAINTENANCE
-- Finds: CHECK and FOREIGN KEY constraints of tables that were added NOT VALID and never validated
-- (pg_constraint.convalidated = false). Constraints a partition or child inherits are left out: validating the
-- parent's constraint validates theirs.
-- Why it matters: new and updated rows are checked, but the existing rows never were, so the data may break the
-- rule; the planner cannot rely on the constraint either (constraint exclusion, join removal). Adding NOT VALID
-- and validating later is the right way to add a constraint to a big table - the second step is often forgotten.
-- PgHero's invalid_constraints.
select
    'not_valid_constraints' as name,
    'Constraint not validated' as title,
    'WARN' as level,
    'MAINTENANCE' as category,
    format('%s.%s.%s', n.nspname, c.relname, con.conname) as object,
    format('%s constraint %I on %I.%I was added NOT VALID and never validated: %s. Rows written since are checked, '
           'rows that existed before never were.',
           case con.contype when 'f' then 'Foreign key' else 'Check' end, con.conname, n.nspname, c.relname,
           pg_catalog.pg_get_constraintdef(con.oid)) as detail,
    'Validate it: ALTER TABLE ... VALIDATE CONSTRAINT scans the table (and for a foreign key checks each row against '
        'the referenced table) under a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on meanwhile. If it fails, '
        'the error names a row that breaks the rule: fix the data, then validate again.' as remediation,
    format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', n.nspname, c.relname, con.conname) as fix_sql,
    format('not_valid_constraints_%s_%s_%s', n.nspname, c.relname, con.conname) as cache_key
from pg_catalog.pg_constraint con
join pg_catalog.pg_class c on c.oid = con.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where not con.convalidated
  and con.contype in ('c', 'f')
  and con.conislocal
  and con.conparentid = 0
  and c.relpersistence <> 't'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
order by n.nspname, c.relname, con.conname
/* dba_admin */
