"""Posts (the seeds' `Message` / `Post`): a creator's public display of their uploaded assets,
free or unlocked with diamonds."""
