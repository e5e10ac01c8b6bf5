data "google_project" "this" {}

# The Cloud Storage service agent, which publishes bucket notifications.
data "google_storage_project_service_account" "gcs" {}

locals {
  # The Cloud Tasks target among var.functions (named by shared.tools.generate).
  task_handler = "task-handler"

  # var.functions by kind: invoked by callers (http), or pushed to by a subscription (receiver).
  http_functions = { for name, fn in var.functions : name => fn if fn.kind == "http" }
  receivers      = { for name, fn in var.functions : name => fn if fn.kind == "receiver" }

  # Cloud Run's deterministic URL (https://SERVICE-PROJECT_NUMBER.REGION.run.app) is known
  # before the function exists, so every function, the task handler included (it reschedules
  # tasks that arrive early), can carry it without a dependency cycle. The code appends
  # "/<task name>"; the task handler routes on that last path segment.
  task_handler_url = "https://${local.task_handler}-${data.google_project.this.number}.${var.region}.run.app"
  # A worker's tasks (heavy ones, in a function of their own) go to its URL; the code puts the
  # worker's name in place of {function}
  task_worker_url = "https://{function}-${data.google_project.this.number}.${var.region}.run.app"
  # The shop's own URL the same way: the payment chain redirects to it and the gateway returns to it
  shop_url = "https://shop-api-${data.google_project.this.number}.${var.region}.run.app"

  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Bucket -> topic receiving its OBJECT_FINALIZE notifications, for the buckets whose
  # registry declaration names a signal to notify (e.g. assets -> storage-events).
  storage_notifications = {
    for name, bucket in var.buckets : name => bucket.notification_topic if bucket.notification_topic != null
  }

  # The non-secret environment every function reads through shared.core.config.
  function_env = {
    GOOGLE_CLOUD_PROJECT   = var.project
    FUNCTION_REGION        = var.region
    TASKS_TARGET_URL       = local.task_handler_url
    TASKS_WORKER_URL       = local.task_worker_url
    TASKS_SERVICE_ACCOUNT  = google_service_account.tasks.email
    PUSHER_APP_ID          = var.pusher_app_id
    PUSHER_KEY             = var.pusher_key
    PUSHER_HOST            = var.pusher_host
    PUSHER_PORT            = tostring(var.pusher_port)
    PUSHER_SSL             = var.pusher_ssl ? "true" : "false"
    STEPS_SWEEP_AFTER      = "60"
    PLATFORM_SHARE_PERCENT = "30"
    # 1-on-1s: seconds a streamer has to answer an invitation, and after agreeing to start it
    EXCLUSIVE_ANSWER_SECONDS = "120"
    EXCLUSIVE_START_GRACE    = "65"
    # The RTC OpenAPI that starts and stops room snapshots (shared.rtc)
    RTC_API_URL       = var.rtc_api_url
    RTC_APP_ID        = var.rtc_app_id
    RTC_BUSINESS_ID   = var.rtc_business_id
    RTC_ACCESS_KEY_ID = var.rtc_access_key_id
    RTC_REGION        = var.rtc_region
    # The maintenance tick's period: Cloud Scheduler publishes it every minute (scheduler.tf).
    TICK_SECONDS = "60"
    # The shop's payment gateway (shared.shop.sonet); So-net's TLS wants OpenSSL's level lowered
    SHOP_URL               = local.shop_url
    SONET_URL              = var.sonet_url
    SONET_ICP_ID           = var.sonet_icp_id
    SONET_OPENSSL_SECLEVEL = "1"
    SHOP_ORDER_TTL_SECONDS = "1800"
  }

  # Secret name (as a function's `secrets` lists it) -> value. A function gets only the ones
  # it lists, and FUNCTION_SECRETS tells it which to insist on (shared.core.config).
  secrets = {
    JWT_SECRET     = var.jwt_secret
    TASK_SECRET    = var.task_secret
    PUSHER_SECRET  = var.pusher_secret
    RTC_SECRET_KEY = var.rtc_secret_key
    RTC_APP_KEY    = var.rtc_app_key
    SHOP_SECRET    = var.shop_secret
  }

  runtime = "python311"

  apis = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com", # the analytics stream (analytics.tf)
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # signBlob: the signed upload URLs
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  for_each = local.apis

  service            = each.key
  disable_on_destroy = false
}

check "task_handler_url" {
  assert {
    # Cloud Run only gives a service its deterministic URL when this DNS label fits.
    condition     = length("${local.task_handler}-${data.google_project.this.number}") <= 63
    error_message = "The task handler has no deterministic Cloud Run URL; TASKS_TARGET_URL would be wrong."
  }
}
