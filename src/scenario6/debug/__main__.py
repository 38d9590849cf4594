from scenario6.debug import main

raise SystemExit(main())
