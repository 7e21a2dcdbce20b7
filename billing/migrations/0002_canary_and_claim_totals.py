"""The key canary of this schema, and the database's check of claim totals."""

from django.db import migrations


def add_canary(apps, schema_editor):
    from billing.crypto import canary_token

    KeyCanary = apps.get_model("billing", "KeyCanary")
    if not KeyCanary.objects.exists():
        KeyCanary.objects.create(token=canary_token())


# A claim's total charge is the sum of its lines, checked when the transaction
# commits (deferred), so a service may write the claim and then its lines.
CLAIM_TOTAL_SQL = """
CREATE FUNCTION billing_claim_total_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target_id bigint;
    stored numeric;
    summed numeric;
BEGIN
    IF TG_TABLE_NAME = 'billing_claim' THEN
        target_id := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        target_id := OLD.claim_id;
    ELSE
        target_id := NEW.claim_id;
    END IF;
    -- The trigger's own schema, not the search_path: a deferred check runs at
    -- commit, when the connection may already be on another clinic (or public).
    EXECUTE format('SELECT total_charge FROM %I.billing_claim WHERE id = $1',
                   TG_TABLE_SCHEMA) INTO stored USING target_id;
    IF stored IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT COALESCE(SUM(charge), 0) FROM %I.billing_claimline'
                   ' WHERE claim_id = $1', TG_TABLE_SCHEMA) INTO summed USING target_id;
    IF stored <> summed THEN
        RAISE EXCEPTION 'claim % total charge % is not the sum of its lines %',
            target_id, stored, summed
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'billing_claim_total_is_sum_of_lines';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER billing_claim_total_is_sum_of_lines
    AFTER INSERT OR UPDATE OF total_charge ON billing_claim
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_claim_total_check();
CREATE CONSTRAINT TRIGGER billing_claimline_total_is_sum_of_lines
    AFTER INSERT OR UPDATE OF charge, claim_id OR DELETE ON billing_claimline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_claim_total_check();
"""

# A claim payment's `adjusted` is the sum of its CAS amounts except OA-23 (A/R reads
# it instead of adding up every adjustment), checked the same way when it commits.
ADJUSTED_SQL = """
CREATE FUNCTION billing_remittance_adjusted_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target_id bigint;
    stored numeric;
    summed numeric;
BEGIN
    IF TG_TABLE_NAME = 'billing_remittanceclaim' THEN
        target_id := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        target_id := OLD.remittance_claim_id;
    ELSE
        target_id := NEW.remittance_claim_id;
    END IF;
    EXECUTE format('SELECT adjusted FROM %I.billing_remittanceclaim WHERE id = $1',
                   TG_TABLE_SCHEMA) INTO stored USING target_id;
    IF stored IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT COALESCE(SUM(amount), 0) FROM %I.billing_remittanceadjustment'
                   ' WHERE remittance_claim_id = $1 AND NOT ("group" = ''OA'' AND reason = ''23'')',
                   TG_TABLE_SCHEMA) INTO summed USING target_id;
    IF stored <> summed THEN
        RAISE EXCEPTION 'remittance claim % adjusted % is not the sum of its adjustments %',
            target_id, stored, summed
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'billing_remittanceclaim_adjusted_is_sum';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER billing_remittanceclaim_adjusted_is_sum
    AFTER INSERT OR UPDATE OF adjusted ON billing_remittanceclaim
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_remittance_adjusted_check();
CREATE CONSTRAINT TRIGGER billing_remittanceadjustment_adjusted_is_sum
    AFTER INSERT OR UPDATE OF amount, remittance_claim_id, "group", reason OR DELETE
    ON billing_remittanceadjustment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_remittance_adjusted_check();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS billing_remittanceadjustment_adjusted_is_sum ON billing_remittanceadjustment;
DROP TRIGGER IF EXISTS billing_remittanceclaim_adjusted_is_sum ON billing_remittanceclaim;
DROP FUNCTION IF EXISTS billing_remittance_adjusted_check();
DROP TRIGGER IF EXISTS billing_claimline_total_is_sum_of_lines ON billing_claimline;
DROP TRIGGER IF EXISTS billing_claim_total_is_sum_of_lines ON billing_claim;
DROP FUNCTION IF EXISTS billing_claim_total_check();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(add_canary, migrations.RunPython.noop),
        migrations.RunSQL(CLAIM_TOTAL_SQL + ADJUSTED_SQL, DROP_SQL),
    ]
