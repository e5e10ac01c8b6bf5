# --- HTTP functions: the API surfaces (public: the code checks bearer tokens itself) and the
# --- Cloud Tasks target (private: only the tasks account may invoke it).

resource "google_cloudfunctions2_function" "http" {
  for_each = var.http_functions

  name        = each.key
  location    = var.region
  description = "HTTP ${each.value.source}:${each.value.entry_point}"

  build_config {
    runtime     = local.runtime
    entry_point = each.value.entry_point
    environment_variables = {
      GOOGLE_FUNCTION_SOURCE = each.value.source
    }
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
    environment_variables = merge(
      local.function_env,
      { FUNCTION_SECRETS = join(" ", each.value.secrets) },
      { for name in each.value.secrets : name => local.secrets[name] },
    )
  }

  depends_on = [google_project_service.apis]
}

# Gen2 functions are Cloud Run services: invocation is roles/run.invoker on the service.
resource "google_cloud_run_service_iam_member" "http_public" {
  for_each = { for name, fn in var.http_functions : name => fn if fn.public }

  location = var.region
  service  = google_cloudfunctions2_function.http[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "http_tasks" {
  for_each = { for name, fn in var.http_functions : name => fn if !fn.public }

  location = var.region
  service  = google_cloudfunctions2_function.http[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

# --- Receivers: one CloudEvent function per receiver, pushed to by its own subscription
# --- (pubsub.tf); the functions framework turns the push envelope into a CloudEvent.

resource "google_cloudfunctions2_function" "receivers" {
  for_each = var.receivers

  name        = each.key
  location    = var.region
  description = "Receiver of ${each.value.signal} on ${each.value.topic}"

  build_config {
    runtime     = local.runtime
    entry_point = each.value.entry_point
    environment_variables = {
      GOOGLE_FUNCTION_SOURCE         = each.value.source
      GOOGLE_FUNCTION_SIGNATURE_TYPE = "cloudevent"
    }
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
    environment_variables = merge(
      local.function_env,
      { FUNCTION_SECRETS = join(" ", each.value.secrets) },
      { for name in each.value.secrets : name => local.secrets[name] },
    )
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_service_iam_member" "receivers_push" {
  for_each = var.receivers

  location = var.region
  service  = google_cloudfunctions2_function.receivers[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}
