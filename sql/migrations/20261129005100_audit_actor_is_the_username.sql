-- sql/migrations/20261129005100_audit_actor_is_the_username.sql
-- The audit log names people one way (issue 15, section 3): by their app username, the name the Users page, the
-- login form and the audit filter use. Until now the rows written in a user's transaction (dba_admin_api.audit:
-- project, script, sql, assistant actions, actor from the claims' email) and the runs said the email, while logins
-- and user administration said the username, so one person appeared under two names.
--
--   * A BEFORE INSERT trigger on dba_admin.audit_log turns an actor that is an app user's email into that user's
--     username and keeps the email in details.actor_email. One rule in the database, for every writer: the SQL-side
--     dba_admin_api.audit (whose actor still comes from the verified claims, so it cannot be forged), the app's
--     audit.record, and anything a team adds later. Supabase Auth accounts have their email as username, so theirs
--     read the same either way.
--   * An actor that is no app user's email (a claim from another client, "system:…", a CLI user) is kept as given.
--   * Rows already written are not rewritten: the log is append-only (its triggers refuse UPDATE for everyone).

create or replace function dba_admin.audit_actor_username()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_username text;
begin
  if new.actor is not null and pg_catalog.strpos(new.actor, '@') > 0 then
    select u.username into v_username
    from dba_admin.users u
    where u.email = pg_catalog.lower(pg_catalog.btrim(new.actor));
    if found and v_username is distinct from new.actor then
      new.details := coalesce(new.details, '{}'::jsonb)
        || pg_catalog.jsonb_build_object('actor_email', pg_catalog.lower(pg_catalog.btrim(new.actor)));
      new.actor := v_username;
    end if;
  end if;
  return new;
end;
$$;
revoke all on function dba_admin.audit_actor_username() from public;
comment on function dba_admin.audit_actor_username() is
  'audit_log trigger: an actor that is an app user''s email becomes that user''s username (the email goes to details.actor_email).';

create trigger audit_log_actor_username before insert on dba_admin.audit_log
    for each row execute function dba_admin.audit_actor_username();

comment on column dba_admin.audit_log.actor is
  'Who did it: the app username (an email only when it is no app user''s, e.g. another Supabase client); "system:…" or NULL for the system.';
