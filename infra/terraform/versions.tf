terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    # archive_file `excludes` takes glob patterns from 2.5.0 on.
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.5"
    }
  }

  # Bucket and prefix come from `terraform init -backend-config=...`.
  backend "gcs" {}
}

provider "google" {
  project = var.project
  region  = var.region
}
