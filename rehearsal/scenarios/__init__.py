"""The rehearsals, one module each; a scenario never imports another one."""
