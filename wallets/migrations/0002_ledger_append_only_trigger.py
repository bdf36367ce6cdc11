"""PostgreSQL trigger: ledger entries can never be updated or deleted, whatever the code does."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'wallets_ledgerentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS wallets_ledger_append_only ON wallets_ledgerentry;
CREATE TRIGGER wallets_ledger_append_only BEFORE UPDATE OR DELETE ON wallets_ledgerentry
FOR EACH ROW EXECUTE FUNCTION wallets_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS wallets_ledger_append_only ON wallets_ledgerentry;
DROP FUNCTION IF EXISTS wallets_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
