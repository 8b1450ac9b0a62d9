"""The examples' command line when the docs build: their quick mode."""


def quick(gallery_conf, script_vars):
    return ["--quick"]
