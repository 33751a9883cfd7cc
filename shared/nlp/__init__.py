"""Clinical text processing: vital signs from notes (more engines come with the text issue)."""
