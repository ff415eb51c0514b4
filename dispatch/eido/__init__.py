"""Incidents exchanged with other centres as NENA EIDO (NENA-STA-021.1b, JSON): exported, and imported as incidents
of this centre (docs/eido.md)."""
