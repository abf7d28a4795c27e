-- money: ActiveRecord strips the currency formatting and reads a BigDecimal,
-- so it renders like numeric: a JSON string, "1000.5".
CREATE TABLE corpus_money_amounts (id integer PRIMARY KEY, m money);
-- rows
INSERT INTO corpus_money_amounts VALUES
  (1, '1000.50'), (2, '-2.55'), (3, '0'), (4, '92233720368547758.07'),
  (5, '-92233720368547758.08'), (6, '12.345'), (7, NULL);
