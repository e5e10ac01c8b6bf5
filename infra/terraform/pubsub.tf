resource "google_pubsub_topic" "topics" {
  for_each = toset(var.topics)

  name = each.key

  depends_on = [google_project_service.apis]
}

# Where a message goes after its receiver's max_attempts failed deliveries.
resource "google_pubsub_topic" "dead_letters" {
  name = "dead-letters"

  depends_on = [google_project_service.apis]
}

# Keeps dead letters (a topic without subscriptions drops them) for inspection and replay.
resource "google_pubsub_subscription" "dead_letters" {
  name                       = "dead-letters"
  topic                      = google_pubsub_topic.dead_letters.id
  message_retention_duration = "604800s" # 7 days, the maximum
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = "" # never expires
  }
}

# One push subscription per receiver, named like its function.
resource "google_pubsub_subscription" "receivers" {
  for_each = local.receivers

  name  = each.key
  topic = google_pubsub_topic.topics[each.value.topic].id
  # Pub/Sub waits for the push response as long as the function may run (10 s at least).
  ack_deadline_seconds = max(10, each.value.timeout)

  push_config {
    push_endpoint = google_cloudfunctions2_function.functions[each.key].service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push.email
    }
  }

  # The receiver's retry policy (FunctionOptions.retry): backoff between deliveries, then the
  # dead-letter topic after max_attempts.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letters.id
    max_delivery_attempts = each.value.max_attempts
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff}s"
    maximum_backoff = "${each.value.max_backoff}s"
  }

  expiration_policy {
    ttl = "" # a quiet signal must not expire its subscription
  }

  depends_on = [
    google_cloud_run_service_iam_member.receivers_push,
    google_service_account_iam_member.pubsub_agent_push_token,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letters,
  ]
}
