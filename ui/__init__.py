"""Streamlit helpers shared by app.py and the pages: the cached services, the current user, page guards.

This is UI glue only: no SQL, no psycopg. The rules it applies (who may open a page) come from dba_admin.access.
"""
