"""Goals: show-funding pre-sales now; show, exclusive and karaoke goals arrive with their features."""
