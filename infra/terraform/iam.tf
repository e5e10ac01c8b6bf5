# --- Service accounts

# What every function runs as.
resource "google_service_account" "runtime" {
  account_id   = "functions-runtime"
  display_name = "Cloud Functions runtime"

  depends_on = [google_project_service.apis]
}

# Pub/Sub signs its push requests to the receivers as this account (OIDC).
resource "google_service_account" "push" {
  account_id   = "pubsub-push"
  display_name = "Pub/Sub push to receivers"

  depends_on = [google_project_service.apis]
}

# Cloud Tasks signs its requests to the task handler as this account (OIDC).
resource "google_service_account" "tasks" {
  account_id   = "cloud-tasks-invoker"
  display_name = "Cloud Tasks to the task handler"

  depends_on = [google_project_service.apis]
}

# --- The runtime account

resource "google_project_iam_member" "runtime" {
  for_each = toset([
    "roles/datastore.user",
    "roles/pubsub.publisher",
    "roles/cloudtasks.enqueuer",
  ])

  project = var.project
  role    = each.key
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Creating a task with an OIDC token acts as the tasks account.
resource "google_service_account_iam_member" "runtime_acts_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

# Signed upload URLs (shared/assets/storage.py) are signed with the runtime's own identity through
# IAM signBlob: no key file exists.
resource "google_service_account_iam_member" "runtime_signs_urls" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime" {
  for_each = var.buckets

  bucket = google_storage_bucket.buckets[each.key].name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# --- The Pub/Sub service agent

# Mints the OIDC tokens of push requests.
resource "google_service_account_iam_member" "pubsub_agent_push_token" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Forwards undeliverable messages to the dead-letter topic ...
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  topic  = google_pubsub_topic.dead_letters.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

# ... and acknowledges them on the subscription they came from.
resource "google_pubsub_subscription_iam_member" "pubsub_agent_receivers" {
  for_each = local.receivers

  subscription = google_pubsub_subscription.receivers[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# --- The Cloud Storage service agent publishes bucket notifications.

resource "google_pubsub_topic_iam_member" "gcs_notifications" {
  for_each = toset(values(local.storage_notifications))

  topic  = google_pubsub_topic.topics[each.key].id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}
