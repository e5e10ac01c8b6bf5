output "http_function_uris" {
  description = "URI of each HTTP function."
  value       = { for name, fn in local.http_functions : name => google_cloudfunctions2_function.functions[name].service_config[0].uri }
}

output "receiver_function_uris" {
  description = "URI of each receiver function (the push endpoint of its subscription)."
  value       = { for name, fn in local.receivers : name => google_cloudfunctions2_function.functions[name].service_config[0].uri }
}

output "task_handler_url" {
  description = "TASKS_TARGET_URL: the task handler's deterministic Cloud Run URL."
  value       = local.task_handler_url
}

output "source_object" {
  description = "The deployed source archive."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}

output "service_accounts" {
  description = "Runtime, Pub/Sub push and Cloud Tasks service accounts."
  value = {
    runtime = google_service_account.runtime.email
    push    = google_service_account.push.email
    tasks   = google_service_account.tasks.email
  }
}

output "pusher_webhook_url" {
  description = "The Pusher app's webhook URL, for the events channel_occupied, channel_vacated, member_added and member_removed (the rooms' live head-count)."
  value       = "${google_cloudfunctions2_function.functions["realtime-api"].service_config[0].uri}/pusher/webhooks"
}
