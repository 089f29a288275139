-- sql/migrations/20261130000400_user_locale.sql
-- Each user's interface language (issue 16, section 4). Null means "follow the browser's language"; otherwise one of
-- the locales the app ships a catalog for (dba_admin.i18n.LOCALES). A user sets their own from the sidebar; the
-- choice is applied at every login, on any app server, because it lives here and not in a cookie.

alter table dba_admin.users
    add column if not exists locale text
        constraint users_locale_supported check (locale is null or locale in ('en', 'pt_BR'));

comment on column dba_admin.users.locale is
    'Interface language chosen by the user (en, pt_BR); null: the browser''s language decides.';
