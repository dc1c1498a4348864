"""The core's log lines: supervisord's logger, each line naming the program."""


class Log:
    def __init__(self, logger):
        self.logger = logger

    def info(self, name: str, text: str) -> None:
        self.logger.info('hot_restart: %s: %s' % (name, text))

    def warn(self, name: str, text: str) -> None:
        self.logger.warn('hot_restart: %s: %s' % (name, text))
