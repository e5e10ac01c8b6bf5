# The analytics stream: every event on the `analytics-events` topic (shared.analytics.TRACK) lands
# in BigQuery through a BigQuery subscription, with no function in between. The message's data is
# the event's JSON; `event_id` in it names the business event (a redelivered event repeats it:
# count DISTINCT event_id).
resource "google_bigquery_dataset" "analytics" {
  dataset_id = "analytics"
  location   = var.region

  depends_on = [google_project_service.apis]
}

resource "google_bigquery_table" "events" {
  dataset_id          = google_bigquery_dataset.analytics.dataset_id
  table_id            = "events"
  deletion_protection = true

  time_partitioning {
    type  = "DAY"
    field = "publish_time"
  }

  # The columns a BigQuery subscription writes with write_metadata and no topic schema.
  schema = jsonencode([
    { name = "subscription_name", type = "STRING", mode = "NULLABLE" },
    { name = "message_id", type = "STRING", mode = "NULLABLE" },
    { name = "publish_time", type = "TIMESTAMP", mode = "NULLABLE" },
    { name = "data", type = "JSON", mode = "NULLABLE" },
    { name = "attributes", type = "JSON", mode = "NULLABLE" },
  ])
}

# The Pub/Sub service agent writes the rows.
resource "google_bigquery_table_iam_member" "pubsub_agent_writes_events" {
  for_each = toset(["roles/bigquery.dataEditor", "roles/bigquery.metadataViewer"])

  dataset_id = google_bigquery_dataset.analytics.dataset_id
  table_id   = google_bigquery_table.events.table_id
  role       = each.key
  member     = local.pubsub_service_agent
}

resource "google_pubsub_subscription" "analytics_to_bigquery" {
  name  = "analytics-events-to-bigquery"
  topic = google_pubsub_topic.topics["analytics-events"].id

  bigquery_config {
    table          = "${var.project}.${google_bigquery_dataset.analytics.dataset_id}.${google_bigquery_table.events.table_id}"
    write_metadata = true
  }

  # Rows BigQuery refuses go to the dead letters, kept 7 days, instead of being retried forever.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letters.id
    max_delivery_attempts = 10
  }

  expiration_policy {
    ttl = "" # a quiet week must not delete the stream's subscription
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_events, google_pubsub_topic_iam_member.pubsub_agent_dead_letters]
}

# The Pub/Sub service agent acknowledges what it moves to the dead letters.
resource "google_pubsub_subscription_iam_member" "pubsub_agent_analytics" {
  subscription = google_pubsub_subscription.analytics_to_bigquery.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
