"""The schema-aware assistant: retrieval over the live catalog, Gemini or an offline answerer, checked SQL.

Import the pieces from their modules (``dba_admin.assistant.assistant.GeminiAssistant`` ...); this package file
stays import-light so that ``import dba_admin.assistant`` never pulls in the Gemini SDK.
"""

from __future__ import annotations
