# One source archive for every function, named by its hash: a code change uploads a new
# object, and the new object name redeploys the functions.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/../.."
  output_path = "${path.module}/build/source.zip"

  # Paths relative to the repository root; glob patterns (archive provider >= 2.5).
  excludes = [
    ".git",
    ".gitignore",
    ".ci",
    ".venv",
    ".stack",
    ".pytest_cache",
    ".terraform",
    "node_modules",
    "package.json",
    "package-lock.json",
    "tests",
    "infra",
    "*.log",
    "**/__pycache__",
    "**/*.pyc",
  ]
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project}-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
