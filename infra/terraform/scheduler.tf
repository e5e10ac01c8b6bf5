# The clock of shared/maintenance.py: a `maintenance.tick` signal every minute, published the
# way shared/core/signals.py publishes (attributes `sender` and `event_id`), so its receivers
# (e.g. flush_pending_steps, which applies effects a crashed run left behind) get it like any signal.
resource "google_cloud_scheduler_job" "maintenance_tick" {
  name      = "maintenance-tick"
  region    = var.region
  schedule  = "* * * * *"
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.topics["maintenance-tick"].id
    data       = base64encode("{}")
    attributes = {
      sender   = "maintenance.tick"
      event_id = "maintenance.tick:tick"
    }
  }

  depends_on = [google_project_service.apis]
}
