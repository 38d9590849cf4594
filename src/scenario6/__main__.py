from scenario6.cli import main

raise SystemExit(main())
