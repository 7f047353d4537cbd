-- Spark SQL: areas whose average speed on the day is at least ${min_speed} km/h.
SELECT area_number, avg(cast(speed AS double)) AS avg_speed
FROM Managed_SmartCar_Drive_Info
WHERE biz_date = '${working_day}'
GROUP BY area_number
HAVING avg(cast(speed AS double)) >= ${min_speed}
ORDER BY avg_speed DESC, area_number
