"""A tiny terminal for the live console's tests: it understands what lunge writes (text,
newline, carriage return, CSI n F, CSI J, CSI K) and wraps at its width, as a terminal does,
so a test can see what stays on the screen."""
import re

CSI = re.compile(r"\x1b\[(\d*)([A-Za-z])")


class Screen:
    def __init__(self, width: int):
        self.width = width
        self.rows: list[str] = [""]
        self.row = 0
        self.col = 0
        self.most = 0  # the most non-empty rows ever on the screen

    def feed(self, text: str) -> None:
        pos = 0
        for m in CSI.finditer(text):
            self._text(text[pos:m.start()])
            n, op = int(m.group(1) or 1), m.group(2)
            if op == "F":  # to the start of the line n up
                self.row, self.col = max(0, self.row - n), 0
            elif op == "J":  # clear from the cursor to the end of the screen
                self.rows[self.row] = self.rows[self.row][:self.col]
                del self.rows[self.row + 1:]
            elif op == "K":
                self.rows[self.row] = self.rows[self.row][:self.col]
            pos = m.end()
        self._text(text[pos:])

    def _text(self, text: str) -> None:
        for ch in text:
            if ch == "\n":
                self._down()
            elif ch == "\r":
                self.col = 0
            else:
                if self.col >= self.width:  # a full line wraps on the next character
                    self._down()
                line = self.rows[self.row].ljust(self.col)
                self.rows[self.row] = line[:self.col] + ch + line[self.col + 1:]
                self.col += 1
        self.most = max(self.most, len(self.lines()))

    def _down(self) -> None:
        self.row += 1
        self.col = 0
        if self.row == len(self.rows):
            self.rows.append("")

    def lines(self) -> list[str]:
        """The non-empty rows on the screen."""
        return [r for r in self.rows if r.strip()]
