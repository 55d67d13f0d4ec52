from emeterai.cli import main

main()
