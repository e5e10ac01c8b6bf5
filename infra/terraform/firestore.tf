# Step markers (shared/core/steps.py) carry `expire_at`, a timestamp past any redelivery window:
# Firestore's TTL policy deletes them after it, so the idempotency collection does not grow forever.
resource "google_firestore_field" "steps_ttl" {
  project    = var.project
  database   = "(default)"
  collection = "steps"
  field      = "expire_at"

  ttl_config {}
  index_config {} # no single-field indexes on a field only the TTL sweep reads

  depends_on = [google_project_service.apis]
}
