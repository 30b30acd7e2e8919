"""Fine-tuned trunks: ``piaa train trunk`` (multi-task top of a backbone on cached lower activations)."""
