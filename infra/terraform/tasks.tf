# Queues of the task handler; each carries the tasks listed for it in var.queues.
resource "google_cloud_tasks_queue" "queues" {
  for_each = var.queues

  name     = each.key
  location = var.region

  rate_limits {
    max_dispatches_per_second = 10
    max_concurrent_dispatches = 20
  }

  retry_config {
    max_attempts  = 20
    min_backoff   = "10s"
    max_backoff   = "3600s"
    max_doublings = 6
  }

  depends_on = [google_project_service.apis]
}
