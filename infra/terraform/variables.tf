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
# --- `python -m shared.core.generate`; never edited by hand.

variable "http_functions" {
  description = "HTTP functions: one per API surface, plus the Cloud Tasks target `task-handler`."
  type = map(object({
    entry_point = string
    source      = string
    public      = bool
    routes      = list(string)
  }))

  validation {
    condition     = contains(keys(var.http_functions), "task-handler")
    error_message = "http_functions must hold the Cloud Tasks target \"task-handler\"."
  }
  validation {
    condition     = alltrue([for name in keys(var.http_functions) : can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", name))])
    error_message = "Function names must be lowercase letters, digits and dashes, at most 49 characters (the Cloud Run service name limit)."
  }
}

variable "receivers" {
  description = "One Pub/Sub-pushed CloudEvent function per receiver, keyed by function (and subscription) name."
  type = map(object({
    entry_point = string
    source      = string
    topic       = string
    signal      = string
  }))

  validation {
    condition     = alltrue([for name in keys(var.receivers) : can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", name))])
    error_message = "Function names must be lowercase letters, digits and dashes, at most 49 characters (the Cloud Run service name limit)."
  }
}

variable "topics" {
  description = "Pub/Sub topics, one per signal."
  type        = list(string)
}

variable "queues" {
  description = "Cloud Tasks queues and the names of the tasks each one carries."
  type        = map(list(string))
}

variable "buckets" {
  description = "Storage buckets (name suffix -> purpose)."
  type        = map(string)
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

variable "max_delivery_attempts" {
  description = "Pub/Sub deliveries of one message to one receiver before it goes to the dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100."
  }
}
