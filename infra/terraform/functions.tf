# Every deployed function, one per entry of var.functions: the API surfaces and the Cloud Tasks
# target (kind "http"), and one CloudEvent function per receiver (kind "receiver"), pushed to by
# its own subscription (pubsub.tf); the functions framework turns the push envelope into a CloudEvent.
resource "google_cloudfunctions2_function" "functions" {
  for_each = var.functions

  name        = each.key
  location    = var.region
  description = each.value.kind == "receiver" ? "Receiver of ${each.value.signal} on ${each.value.topic}" : "HTTP ${each.value.source}:${each.value.entry_point}"

  build_config {
    runtime     = local.runtime
    entry_point = each.value.entry_point
    environment_variables = merge(
      { GOOGLE_FUNCTION_SOURCE = each.value.source },
      each.value.kind == "receiver" ? { GOOGLE_FUNCTION_SIGNATURE_TYPE = "cloudevent" } : {},
    )
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  # Sized by the function's options in the registry (shared/core/options.py).
  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout
    max_instance_request_concurrency = each.value.concurrency
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime.email
    # Only the secrets this function lists; FUNCTION_SECRETS names them so it refuses to start without them.
    # DEPLOYED_ENTRY_POINT: the function imports only the modules functions/targets.json lists for it (shared/app.py).
    environment_variables = merge(
      local.function_env,
      { FUNCTION_SECRETS = join(" ", each.value.secrets) },
      { for name in each.value.secrets : name => local.secrets[name] },
      { DEPLOYED_ENTRY_POINT = each.value.entry_point },
    )
  }

  depends_on = [google_project_service.apis]
}

# Gen2 functions are Cloud Run services: invocation is roles/run.invoker on the service. Anyone
# may invoke the public HTTP functions (the API surfaces: the code checks bearer tokens itself) ...
resource "google_cloud_run_service_iam_member" "http_public" {
  for_each = { for name, fn in local.http_functions : name => fn if fn.public }

  location = var.region
  service  = google_cloudfunctions2_function.functions[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# ... only the tasks account the others (the task handler) ...
resource "google_cloud_run_service_iam_member" "http_tasks" {
  for_each = { for name, fn in local.http_functions : name => fn if !fn.public }

  location = var.region
  service  = google_cloudfunctions2_function.functions[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

# ... and only the push account the receivers.
resource "google_cloud_run_service_iam_member" "receivers_push" {
  for_each = local.receivers

  location = var.region
  service  = google_cloudfunctions2_function.functions[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}
