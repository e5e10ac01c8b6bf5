resource "google_storage_bucket" "buckets" {
  for_each = var.buckets

  name                        = "${var.project}-${each.key}"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Browsers upload and play through signed URLs from other origins (hls.js fetches segments):
  # the signature is the access control, CORS only lets the browser read the answer.
  cors {
    origin          = ["*"]
    method          = ["GET", "HEAD", "PUT"]
    response_header = ["Content-Type", "Content-Length", "Range"]
    max_age_seconds = 3600
  }

  depends_on = [google_project_service.apis]
}

# Object-finalize notifications of the buckets that declare a notification topic
# (local.storage_notifications, from var.buckets), published as the object resource.
resource "google_storage_notification" "buckets" {
  for_each = local.storage_notifications

  bucket         = google_storage_bucket.buckets[each.key].name
  topic          = google_pubsub_topic.topics[each.value].id
  payload_format = "JSON_API_V1"
  event_types    = ["OBJECT_FINALIZE"]

  depends_on = [google_pubsub_topic_iam_member.gcs_notifications]
}
