# Documents that go by Firestore's TTL policy on their `expire_at` timestamp, so these collections
# do not grow forever:
#   steps           step markers (shared/core/steps.py), past any redelivery window
#   claims          claims (shared/core/claims.py), a day past their lease: a crashed holder's too
#   refresh_tokens  refresh tokens (shared/accounts/credentials.py), a day past their expiry
#   login_failures  the login limiter's counters (shared/accounts/throttle.py), a window past theirs
#   stream_viewers  viewers who left a room (shared/realtime/headcount.py), an hour on: past any late webhook
locals {
  ttl_collections = ["steps", "claims", "refresh_tokens", "login_failures", "stream_viewers"]
}

resource "google_firestore_field" "ttl" {
  for_each = toset(local.ttl_collections)

  project    = var.project
  database   = "(default)"
  collection = each.key
  field      = "expire_at"

  ttl_config {}
  index_config {} # no single-field indexes on a field only the TTL sweep reads

  depends_on = [google_project_service.apis]
}

moved {
  from = google_firestore_field.steps_ttl
  to   = google_firestore_field.ttl["steps"]
}

moved {
  from = google_firestore_field.claims_ttl
  to   = google_firestore_field.ttl["claims"]
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

# Queries with an equality filter and a range or order on another field need a composite index
# each: the maintenance backstops query goals by due time (shared/goals/service.py, exclusive.py), a wallet
# lists its holds and recent transfers (shared/ledger/service.py), a creator's posts are listed
# newest first (shared/posts/service.py), encodes that never finished are failed (shared/assets/encoder.py),
# the posts feed reads the newest published posts and a followed-first page the followed streamers'
# items of a generation by rank (shared/feeds/sources.py, service.py), a user's chats are listed by
# their newest message (shared/chats/service.py).
locals {
  indexes = {
    goals_overdue = { collection = "goals", fields = [
      { path = "active", order = "ASCENDING" }, { path = "exp", order = "ASCENDING" },
    ] }
    goals_refund_due = { collection = "goals", fields = [
      { path = "refund", order = "ASCENDING" }, { path = "refund_due_at", order = "ASCENDING" },
    ] }
    invitations_unused_due = { collection = "goals", fields = [
      { path = "_cls", order = "ASCENDING" }, { path = "settlement", order = "ASCENDING" },
      { path = "refund_due_at", order = "ASCENDING" },
    ] }
    wallet_holds = { collection = "ledger_transfers", fields = [
      { path = "debit", order = "ASCENDING" }, { path = "hold", order = "ASCENDING" },
      { path = "created_at", order = "DESCENDING" },
    ] }
    escrow_holds = { collection = "ledger_transfers", fields = [
      { path = "credit", order = "ASCENDING" }, { path = "hold", order = "ASCENDING" },
      { path = "state", order = "ASCENDING" }, { path = "id", order = "ASCENDING" },
    ] }
    creator_posts = { collection = "posts", fields = [
      { path = "user_id", order = "ASCENDING" }, { path = "status", order = "ASCENDING" },
      { path = "nbf", order = "DESCENDING" },
    ] }
    encodes_stalled = { collection = "assets", fields = [
      { path = "encoding.status", order = "ASCENDING" }, { path = "encoding.queued_at", order = "ASCENDING" },
    ] }
    wallet_transfers = { collection = "ledger_transfers", fields = [
      { path = "parties", array = "CONTAINS" }, { path = "created_at", order = "DESCENDING" },
    ] }
    published_posts = { collection = "posts", fields = [
      { path = "status", order = "ASCENDING" }, { path = "nbf", order = "DESCENDING" },
    ] }
    feed_items_followed = { collection = "items", fields = [
      { path = "user_id", order = "ASCENDING" }, { path = "rank", order = "ASCENDING" },
    ] }
    user_chats = { collection = "chats", fields = [
      { path = "participants", array = "CONTAINS" }, { path = "updated_at", order = "DESCENDING" },
    ] }
  }
}

resource "google_firestore_index" "queries" {
  for_each = local.indexes

  project    = var.project
  database   = "(default)"
  collection = each.value.collection

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.path
      order        = lookup(fields.value, "order", null)
      array_config = lookup(fields.value, "array", null)
    }
  }

  depends_on = [google_project_service.apis]
}
