-- A person looked up by date of birth or phone number (the likely duplicates of a registration
-- or of an imported row; person search by those terms) starts from these instead of reading
-- every person of the tenant.
CREATE INDEX persons_birth ON persons(tenant_id, date_of_birth);
CREATE INDEX persons_phone ON persons(tenant_id, phone);
