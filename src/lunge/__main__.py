from lunge.cli import main

main()
