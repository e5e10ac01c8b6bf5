# Queues of the task handler; each carries the tasks listed for it in var.queues, at the rate
# and with the retries its QueueOptions declare.
resource "google_cloud_tasks_queue" "queues" {
  for_each = var.queues

  name     = each.key
  location = var.region

  rate_limits {
    max_dispatches_per_second = each.value.max_dispatches_per_second
    max_concurrent_dispatches = each.value.max_concurrent_dispatches
  }

  retry_config {
    max_attempts  = each.value.max_attempts
    min_backoff   = "${each.value.min_backoff}s"
    max_backoff   = "${each.value.max_backoff}s"
    max_doublings = each.value.max_doublings
  }

  depends_on = [google_project_service.apis]
}
