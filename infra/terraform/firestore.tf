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

# Claims (shared/core/claims.py) carry `expire_at` a day past their lease: a crashed holder's claim
# is removed by the same TTL mechanism.
resource "google_firestore_field" "claims_ttl" {
  project    = var.project
  database   = "(default)"
  collection = "claims"
  field      = "expire_at"

  ttl_config {}
  index_config {}

  depends_on = [google_project_service.apis]
}

# Step markers' large fields are never queried: no index entries for them (they would only cost
# writes). The sweep queries `sweep_at`, which keeps its default single-field index.
resource "google_firestore_field" "steps_unindexed" {
  for_each = toset(["effects", "response"])

  project    = var.project
  database   = "(default)"
  collection = "steps"
  field      = each.key

  index_config {}

  depends_on = [google_project_service.apis]
}

# The maintenance backstops query by due time (shared/goals/service.py): an equality filter and
# a range on another field need a composite index each.
locals {
  goal_indexes = {
    overdue    = ["active", "exp"]
    refund_due = ["refund", "refund_due_at"]
  }
}

resource "google_firestore_index" "goals" {
  for_each = local.goal_indexes

  project    = var.project
  database   = "(default)"
  collection = "goals"

  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value
      order      = "ASCENDING"
    }
  }

  depends_on = [google_project_service.apis]
}
