"""PA_IAA (Li et al., TIP 2020): multi-task aesthetics + traits network."""
