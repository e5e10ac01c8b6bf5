# The clock of shared/maintenance.py: a `maintenance.tick` signal every minute (TICK_SECONDS = 60
# in main.tf), so its receivers (e.g. flush_pending_steps, which applies effects a crashed run
# left behind) get it like any signal. Only `sender`: the code derives a tick's event id from its
# publish time (one per TICK_SECONDS period), so a redelivered tick is a repeat and the next is not.
resource "google_cloud_scheduler_job" "maintenance_tick" {
  name      = "maintenance-tick"
  region    = var.region
  schedule  = "* * * * *"
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.topics["maintenance-tick"].id
    data       = base64encode("{}")
    attributes = {
      sender = "maintenance.tick"
    }
  }

  depends_on = [google_project_service.apis]
}
