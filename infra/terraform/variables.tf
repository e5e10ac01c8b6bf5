variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues and buckets."
  type        = string
  default     = "us-central1"
}

# --- Generated from the registry into registry.auto.tfvars.json by
# --- `python -m shared.tools.generate`; never edited by hand.

variable "functions" {
  description = "Every deployed function, keyed by its (Cloud Run service) name, with its runtime options: kind \"http\" for the API surfaces and the Cloud Tasks target `task-handler`, kind \"receiver\" for the Pub/Sub-pushed CloudEvent function of each receiver."
  type = map(object({
    kind          = string
    entry_point   = string
    source        = string
    memory        = string
    cpu           = string
    timeout       = number
    concurrency   = number
    min_instances = number
    max_instances = number
    secrets       = list(string)
    # The fields of one kind, left out (null) in the other's entries: one object type for all.
    # kind "http": whether anyone may invoke it (or only Cloud Tasks) and the routes it serves.
    public = optional(bool)
    routes = optional(list(string))
    # kind "receiver": the signal it receives, its topic, and its push subscription's retry policy.
    signal       = optional(string)
    topic        = optional(string)
    min_backoff  = optional(number)
    max_backoff  = optional(number)
    max_attempts = optional(number)
  }))

  validation {
    condition     = try(var.functions["task-handler"].kind, null) == "http"
    error_message = "functions must hold the Cloud Tasks target \"task-handler\", of kind \"http\"."
  }
  validation {
    condition     = alltrue([for name in keys(var.functions) : can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", name))])
    error_message = "Function names must be lowercase letters, digits and dashes, at most 49 characters (the Cloud Run service name limit)."
  }
  validation {
    condition = alltrue([for fn in values(var.functions) : fn.kind == "http" ? fn.public != null : (
      fn.kind == "receiver" && alltrue([for v in [fn.topic, fn.signal, fn.min_backoff, fn.max_backoff, fn.max_attempts] : v != null])
    )])
    error_message = "kind is \"http\" (with public) or \"receiver\" (with topic, signal, min_backoff, max_backoff and max_attempts)."
  }
  validation {
    condition = alltrue([for fn in values(var.functions) : (
      can(regex("^[0-9]+(k|M|G|Mi|Gi)$", fn.memory)) && can(regex("^[0-9]+(\\.[0-9]+)?$", fn.cpu))
      && (fn.concurrency == 1 || try(tonumber(fn.cpu), 0) >= 1) && fn.concurrency >= 1 && fn.concurrency <= 1000
    )])
    error_message = "memory is a size such as 512Mi, cpu a number such as 0.167; concurrency is 1-1000, above 1 only with at least 1 CPU."
  }
  validation {
    # A receiver's timeout is its subscription's ack deadline, which Pub/Sub caps at 600 s.
    condition = alltrue([for fn in values(var.functions) : (
      fn.timeout >= 1 && fn.timeout <= (fn.kind == "receiver" ? 600 : 3600) && fn.min_instances >= 0 && fn.max_instances >= max(1, fn.min_instances)
    )])
    error_message = "timeout is 1-3600 s (an HTTP function's limit), 1-600 s for a receiver (its subscription's ack deadline); 0 <= min_instances <= max_instances, max_instances >= 1."
  }
  validation {
    condition     = alltrue(flatten([for fn in values(var.functions) : [for s in fn.secrets : contains(["JWT_SECRET", "TASK_SECRET", "PUSHER_SECRET", "RTC_SECRET_KEY", "RTC_APP_KEY", "SHOP_SECRET"], s)]]))
    error_message = "secrets are among JWT_SECRET, TASK_SECRET, PUSHER_SECRET, RTC_SECRET_KEY, RTC_APP_KEY and SHOP_SECRET (local.secrets)."
  }
  validation {
    # Pub/Sub's limits: 5-100 delivery attempts before dead-lettering, backoff 0-600 s.
    condition = alltrue([for fn in values(var.functions) : (
      fn.max_attempts >= 5 && fn.max_attempts <= 100 && fn.min_backoff >= 0 && fn.min_backoff <= fn.max_backoff && fn.max_backoff <= 600
    ) if fn.kind == "receiver"])
    error_message = "max_attempts must be between 5 and 100, and 0 <= min_backoff <= max_backoff <= 600 s."
  }
}

variable "topics" {
  description = "Pub/Sub topics, one per signal."
  type        = list(string)
}

variable "queues" {
  description = "Cloud Tasks queues: the names of the tasks each one carries, its dispatch rate and retry policy."
  type = map(object({
    tasks                     = list(string)
    max_dispatches_per_second = number
    max_concurrent_dispatches = number
    max_attempts              = number
    min_backoff               = number
    max_backoff               = number
    max_doublings             = number
  }))

  validation {
    # Cloud Tasks' limits: at most 500 dispatches a second; max_attempts -1 means unlimited.
    condition = alltrue([for q in values(var.queues) : (
      q.max_dispatches_per_second > 0 && q.max_dispatches_per_second <= 500 && q.max_concurrent_dispatches >= 1
      && (q.max_attempts == -1 || q.max_attempts >= 1) && q.min_backoff >= 0 && q.min_backoff <= q.max_backoff && q.max_doublings >= 0
    )])
    error_message = "Queue options out of range: 0 < max_dispatches_per_second <= 500, max_concurrent_dispatches >= 1, max_attempts >= 1 (or -1), 0 <= min_backoff <= max_backoff, max_doublings >= 0."
  }
}

variable "buckets" {
  description = "Storage buckets (name suffix -> purpose, and the topic of its object-finalize notifications or null)."
  type = map(object({
    purpose            = string
    notification_topic = string
  }))
}

# --- Secrets and settings passed to the functions' environment.

variable "jwt_secret" {
  description = "JWT_SECRET: signs and checks bearer tokens."
  type        = string
  sensitive   = true
}

variable "task_secret" {
  description = "TASK_SECRET: signs Cloud Tasks request bodies."
  type        = string
  sensitive   = true
}

variable "pusher_app_id" {
  description = "PUSHER_APP_ID"
  type        = string
  sensitive   = true
}

variable "pusher_key" {
  description = "PUSHER_KEY"
  type        = string
  sensitive   = true
}

variable "pusher_secret" {
  description = "PUSHER_SECRET"
  type        = string
  sensitive   = true
}

variable "pusher_host" {
  description = "PUSHER_HOST, e.g. api-mt1.pusher.com"
  type        = string
  sensitive   = true
}

variable "pusher_port" {
  description = "PUSHER_PORT"
  type        = number
  default     = 443
}

variable "pusher_ssl" {
  description = "PUSHER_SSL"
  type        = bool
  default     = true
}

# BytePlus RTC OpenAPI (shared.rtc): room snapshot tasks. Empty until the platform uses them: a
# function that lists RTC_SECRET_KEY among its secrets refuses to start while it is empty.

variable "rtc_api_url" {
  description = "RTC_API_URL: the RTC OpenAPI's address (BytePlus; Volcengine: https://rtc.volcengineapi.com)."
  type        = string
  default     = "https://open.byteplusapi.com"
}

variable "rtc_app_id" {
  description = "RTC_APP_ID"
  type        = string
  sensitive   = true
  default     = ""
}

variable "rtc_business_id" {
  description = "RTC_BUSINESS_ID (empty: the app's default business)"
  type        = string
  default     = ""
}

variable "rtc_access_key_id" {
  description = "RTC_ACCESS_KEY_ID: the access key that signs RTC OpenAPI requests."
  type        = string
  sensitive   = true
  default     = ""
}

variable "rtc_secret_key" {
  description = "RTC_SECRET_KEY: the secret of that access key."
  type        = string
  sensitive   = true
  default     = ""
}

variable "rtc_region" {
  description = "RTC_REGION: the region in the signature's credential scope."
  type        = string
  default     = "ap-singapore-1"
}

variable "rtc_app_key" {
  description = "RTC_APP_KEY: the RTC app's key, which signs viewers' AccessTokens (GET /streams/{id}/token)."
  type        = string
  sensitive   = true
  default     = ""
}

variable "shop_secret" {
  description = "SHOP_SECRET: signs the payment chain's metadata JWT, payment links and redirect cookies (shared.shop.signing)."
  type        = string
  sensitive   = true
  default     = ""
}

variable "sonet_url" {
  description = "SONET_URL: So-net mpay's address."
  type        = string
  default     = "https://mpay.so-net.net.tw"
}

variable "sonet_icp_id" {
  description = "SONET_ICP_ID: our merchant (ICP) id at So-net."
  type        = string
  default     = ""
}
