from smithy.cli import main

main()
